"""Everything a running creditsync needs, built once from settings: the database, the mappings
in force, the ledger with its plan policies, and the adapters of each connection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from connector.errors import InvalidInput, NotFound
from connector.ledger.burns import BurnPolicy
from connector.ledger.group_commit import GroupCommitSettings, GroupCommitter
from connector.ledger.service import Ledger
from connector.policy.hook import hook_for
from connector.policy.routes import PlatformRoutes, routes_from
from connector.ports import (
    AdapterContext,
    Charger,
    JournalSink,
    PurchaseSource,
    UsageSink,
    WebhookReceiver,
    adapter,
)
from connector.settings import Connection, Settings, get_settings
from connector.store.engine import make_engine
from connector.store.mapping_versions import load_version
from connector.store.migrate import is_current, upgrade
from connector.store.reading import read_only
from connector.timeutil import utcnow
from mappings.gl import GLAccounts
from mappings.holder import MappingStore
from mappings.model import MappingSet


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    mappings: MappingStore
    _sinks: dict[str, JournalSink] = field(default_factory=dict)
    _versions: dict[str, MappingSet] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, migrate: bool = True) -> Runtime:
        settings = settings or get_settings()
        engine = make_engine(settings.database_url)
        if migrate and not is_current(engine):
            upgrade(engine)
        return cls(settings=settings, engine=engine, mappings=MappingStore(settings.mapping_paths))

    def plan_policy(self, plan: str | None) -> BurnPolicy:
        """The burn policy of a plan from the mappings in force (hard limit unless overage),
        with its low-balance rule (alerts, refills, overage reports) run after each burn."""
        chosen = self.mappings.current.plan(plan)
        return BurnPolicy(
            consumption_order=chosen.consumption_order,
            allow_overage=chosen.low_balance.limit == "overage",
            after_burn=hook_for(chosen.low_balance, self._policy_routes),
        )

    @cached_property
    def policy_routes(self) -> PlatformRoutes:
        """Which connections can charge refills and bill overage, per platform."""
        return routes_from(self.settings.connections)

    def _policy_routes(self) -> PlatformRoutes:
        return self.policy_routes

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.engine, plans=self.plan_policy)

    @cached_property
    def burn_writer(self) -> GroupCommitter:
        """Group commit for the burn API: concurrent burns share a transaction."""
        chosen = self.settings.burn_writer
        return GroupCommitter(
            self.ledger,
            GroupCommitSettings(
                max_batch=chosen.max_batch,
                max_wait=chosen.max_wait_ms / 1000,
                writers=chosen.writers,
            ),
        )

    def close_burn_writer(self) -> None:
        """Finish the burns queued for group commit (a no-op when none was ever started); an app
        built on this runtime later gets a writer of its own."""
        writer: GroupCommitter | None = self.__dict__.pop("burn_writer", None)
        if writer is not None:
            writer.close()

    def gl_accounts(self, version: str | None, currency: str, entity: str | None) -> GLAccounts:
        """GL accounts of a pool under the mapping version it was created with, so that a later
        change of the mapping files never moves an old pool's money to other accounts.

        Called inside the caller's transaction (recognize, reconcile), an old version is read
        through a snapshot that neither takes nor waits for the write lock: on SQLite a plain
        connection would queue behind the lock the caller itself holds, then fail."""
        if version is None or version == self.mappings.current.version:
            return self.mappings.current.gl_accounts(currency, entity)
        if version not in self._versions:
            with read_only(self.engine) as conn:
                self._versions[version] = load_version(conn, version)
        return self._versions[version].gl_accounts(currency, entity)

    def connection(self, name: str) -> Connection:
        try:
            return self.settings.connections[name]
        except KeyError:
            known = ", ".join(self.settings.connections) or "none configured"
            raise NotFound(f"no connection named {name!r} (known: {known})") from None

    def _factory_settings(self, connection: Connection) -> Mapping[str, Any]:
        return connection.settings

    def source(self, name: str) -> PurchaseSource:
        connection = self.connection(name)
        spec = adapter(connection.platform)
        if spec.source is None:
            raise InvalidInput("platform", f"{connection.platform} cannot be a purchase source")
        return spec.source(self._factory_settings(connection))

    def receiver(self, name: str) -> WebhookReceiver:
        connection = self.connection(name)
        spec = adapter(connection.platform)
        if spec.receiver is None:
            raise InvalidInput("platform", f"{connection.platform} does not receive webhooks")
        return spec.receiver(self._factory_settings(connection))

    def charger(self, name: str) -> Charger:
        connection = self.connection(name)
        spec = adapter(connection.platform)
        if spec.charger is None:
            raise InvalidInput("platform", f"{connection.platform} cannot charge refills")
        return spec.charger(self._factory_settings(connection))

    def usage_sink(self, name: str) -> UsageSink:
        connection = self.connection(name)
        spec = adapter(connection.platform)
        if spec.usage is None:
            raise InvalidInput("platform", f"{connection.platform} cannot bill usage")
        return spec.usage(self._factory_settings(connection))

    def _sink_connection(self, name: str) -> str | None:
        """The connection a sink name means: itself, or the only connection of that platform
        (``files`` is the embedded sink and needs none)."""
        if name in self.settings.connections:
            return name
        if name == "files":
            return None
        named = [n for n, c in self.settings.connections.items() if c.platform == name]
        if len(named) > 1:
            raise InvalidInput(
                "sink", f"{len(named)} {name} connections", f"name one: {', '.join(named)}"
            )
        return named[0] if named else None

    def sink(self, name: str) -> JournalSink:
        """A journal sink by connection name, by adapter name (``files``), or by the platform
        of the one connection that has it (``netsuite``)."""
        if name not in self._sinks:
            chosen = self._sink_connection(name)
            key = chosen or name
            if key not in self._sinks:
                self._sinks[key] = self._new_sink(key, chosen)
            self._sinks[name] = self._sinks[key]
        return self._sinks[name]

    def _new_sink(self, name: str, connection_name: str | None) -> JournalSink:
        if connection_name is not None:
            connection = self.settings.connections[connection_name]
            platform, options = connection.platform, dict(connection.settings)
        elif name in self.settings.journal_sinks:
            platform, options = name, {}
        else:
            configured = ", ".join(self.settings.journal_sinks) or "none"
            raise InvalidInput(
                "sink",
                f"no journal sink named {name!r} is configured (journal sinks: {configured})",
                "add it to journal_sinks, or configure a connection of that name",
            )
        spec = adapter(platform)
        if spec.sink is None:
            raise InvalidInput("sink", f"{platform} has no journal sink")
        books = self.mappings.current.sink_books(name, platform)
        if books:  # a book the GL tables give ids of its own gets them, and its name
            options.setdefault("name", name)
            options.setdefault("gl_books", [b.model_dump(by_alias=True) for b in books])
        context = AdapterContext(output_dir=self.settings.output_dir, clock=utcnow)
        return spec.sink(options, context)
