"""Rebuild: recompute every pool, burn allocation and journal entry from the stored inputs in a
scratch database, and diff the result against the live one. Any difference is a bug (or a
tampered row), never something to fix by hand."""
