"""Which platforms can take a refill charge or bill overage, from the configured connections.

Worked out once per runtime and consulted by every burn that crosses a threshold, so the burn
path never imports an adapter or builds a client: it only needs to know whether one exists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.errors import CreditsyncError
from connector.ports import adapter
from connector.settings import Connection

log = logging.getLogger("creditsync.policy")


@dataclass(frozen=True)
class PlatformRoutes:
    """platform -> the first enabled connection (in settings order) that can do the job."""

    chargers: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, str] = field(default_factory=dict)


def routes_from(connections: Mapping[str, Connection]) -> PlatformRoutes:
    """A connection whose adapter cannot be loaded routes nothing (its sync reports why)."""
    chargers: dict[str, str] = {}
    usage: dict[str, str] = {}
    for name, connection in connections.items():
        if not connection.enabled:
            continue
        try:
            spec = adapter(connection.platform)
        except CreditsyncError as exc:
            log.warning("connection %s routes no refills or overage: %s", name, exc.message)
            continue
        if spec.charger is not None:
            chargers.setdefault(connection.platform, name)
        if spec.usage is not None:
            usage.setdefault(connection.platform, name)
    return PlatformRoutes(chargers=chargers, usage=usage)
