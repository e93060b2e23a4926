from sqlalchemy import Engine, inspect

from connector.store.migrate import current_revision, head_revision, is_current
from connector.store.schema import metadata


def test_migrations_create_every_table(engine: Engine) -> None:
    assert is_current(engine)
    assert current_revision(engine) == head_revision()
    present = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= present
