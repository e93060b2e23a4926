"""The ledger's tables. Other parts of creditsync add theirs to the same ``metadata``.

Credits are integers; money is integer minor units with a currency column beside it. Every row
that an outside fact creates has a unique natural key, which is what makes each write idempotent.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from connector.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(500)),
    Column("email", String(500)),
    Column("consumption_order", String(50)),  # None: the default policy
    Column("plan", String(200)),  # policy set (low balance, order) from the mappings
    Column("created_at", UTCDateTime(), nullable=False),
)

account_links = Table(
    "account_links",
    metadata,
    Column("platform", String(50), primary_key=True),
    Column("external_id", String(200), primary_key=True),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False, index=True),
)

mapping_versions = Table(
    "mapping_versions",
    metadata,
    Column("version", String(64), primary_key=True),  # content hash of the mapping set
    Column("loaded_at", UTCDateTime(), nullable=False),
    Column("content", JSON, nullable=False),
)

pools = Table(
    "pools",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("credits_granted", BigInteger, nullable=False),
    Column("credits_remaining", BigInteger, nullable=False),
    Column("revenue_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("effective_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("priority", Integer, nullable=False, server_default="100"),
    Column("status", String(20), nullable=False),
    Column("source_platform", String(50), nullable=False),
    Column("source_object", String(200), nullable=False),
    Column("source_line", String(200), nullable=False),
    Column("source_part", String(20), nullable=False),  # paid / bonus: two pools from one line
    Column("item_id", String(200)),
    Column("mapping_version", String(64)),
    Column("entity", String(100)),
    Column("breakage_method", String(20), nullable=False, server_default="remote"),
    Column("breakage_rate", String(20), nullable=False, server_default="0"),  # exact decimal text
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source_platform", "source_object", "source_line", "source_part"),
    CheckConstraint("credits_remaining >= 0", name="remaining_non_negative"),
    CheckConstraint("credits_remaining <= credits_granted", name="remaining_within_grant"),
    CheckConstraint("revenue_amount >= 0", name="revenue_non_negative"),
    Index("ix_pools_account_status", "account_id", "status"),
    Index("ix_pools_expiry", "status", "expires_at"),
)

burn_rates = Table(
    "burn_rates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("credits_per_unit", String(40), nullable=False),  # exact decimal text, e.g. "0.5"
    Column("effective_from", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("note", Text),
    UniqueConstraint("action", "version"),
    Index("ix_burn_rates_action_from", "action", "effective_from"),
)

burns = Table(
    "burns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("overage_credits", BigInteger, nullable=False, server_default="0"),
    Column("rate_id", Id, ForeignKey("burn_rates.id"), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("request_hash", String(64), nullable=False),
    UniqueConstraint("account_id", "idempotency_key"),
    Index("ix_burns_occurred", "occurred_at"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # grant burn expire void clawback adjust
    Column("credits", BigInteger, nullable=False),  # signed: grants positive, takings negative
    Column("burn_id", Id, ForeignKey("burns.id")),
    Column("reference", String(300), nullable=False),  # makes the entry's natural key unique
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("pool_id", "kind", "reference"),
    Index("ix_ledger_entries_account", "account_id", "id"),
)

# Grants, voids and adjustments made by a person (support, finance), outside any platform: who,
# why, and the ledger entry each one wrote. The idempotency key makes a retried request a no-op.
manual_operations = Table(
    "manual_operations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("operation", String(10), nullable=False),  # grant | void | adjust
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("entry_kind", String(20), nullable=False),  # the ledger entry it wrote
    Column("entry_reference", String(300), nullable=False),
    Column("credits", BigInteger, nullable=False),  # signed, as in the ledger entry
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_manual_operations_pool", "pool_id"),
)
