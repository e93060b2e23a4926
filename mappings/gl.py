"""The general-ledger account codes one pool's money moves between."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GLAccounts(BaseModel):
    """Account codes for deferred revenue, revenue, breakage, refunds and clearing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deferred_revenue: str = Field(min_length=1)
    revenue: str = Field(min_length=1)
    breakage_revenue: str = Field(min_length=1)
    refunds: str = Field(min_length=1, description="contra revenue for refunds beyond deferred")
    clearing: str = Field(min_length=1, description="cash / receivable clearing")
