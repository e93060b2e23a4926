"""The HTTP server: webhooks in, the burn and balance API, the admin API, health and metrics."""

from __future__ import annotations

from connector.api.app import create_app

__all__ = ["create_app"]
