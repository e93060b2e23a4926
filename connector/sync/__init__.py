"""Sync runs, cursors, the webhook inbox, exceptions and the lease that keeps runs apart."""
