"""Revision 0005 names the purchase each open exception waits for, so that orphans recorded
before it apply when their purchase does."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, insert, select

from connector.events import CanonicalEvent
from connector.store.migrate import _config, upgrade
from connector.sync.tables import sync_exceptions
from connector.timeutil import utcnow
from tests.sync_helpers import purchase, refund


def test_open_exceptions_recorded_before_0005_get_their_target(engine: Engine) -> None:
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    now = utcnow()
    rows: list[tuple[CanonicalEvent, str]] = [
        (refund("re_1", "ord_1", 100), "orphan"),
        (purchase("ord_2"), "unmapped"),
    ]
    with engine.begin() as conn:
        for event, code in rows:
            conn.execute(
                insert(sync_exceptions).values(
                    connection="files",
                    source_key=str(event.source),
                    event_kind=event.kind,
                    reason_code=code,
                    reason="recorded before 0005",
                    payload=event.model_dump(mode="json"),
                    status="open",
                    attempts=1,
                    first_seen=now,
                    last_seen=now,
                )
            )
    upgrade(engine)
    with engine.connect() as conn:
        query = select(sync_exceptions.c.source_key, sync_exceptions.c.target)
        found = {key: target for key, target in conn.execute(query)}
    assert found == {"files:re_1:": "files:ord_1", "files:ord_2:1": None}
