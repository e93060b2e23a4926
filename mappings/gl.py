"""The general-ledger side of a mapping: account codes, dimensions, and each book's own ids.

Codes are creditsync's names for the five accounts a pool's money moves between; an entry's
lines carry them. A book that knows its accounts by other ids (NetSuite internal ids or account
numbers) gets them per sink, beside the codes, so entries stay the same whichever book they go to.
"""

from __future__ import annotations

from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ROLES: Final = ("deferred_revenue", "revenue", "breakage_revenue", "refunds", "clearing")
_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")


class Dimensions(BaseModel):
    """Segments a book reports by; each is the book's own value (in NetSuite, an internal id)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    department: str | None = Field(default=None, min_length=1)
    class_: str | None = Field(default=None, min_length=1, alias="class")
    location: str | None = Field(default=None, min_length=1)

    def over(self, base: Dimensions | None) -> Dimensions:
        """These dimensions, each unset one taken from ``base``."""
        if base is None:
            return self
        return Dimensions(
            department=self.department or base.department,
            class_=self.class_ or base.class_,
            location=self.location or base.location,
        )

    def __bool__(self) -> bool:
        return any((self.department, self.class_, self.location))


class LineDimensions(BaseModel):
    """Dimensions for the lines on one account only, e.g. revenue lines by department."""

    model_config = _FROZEN

    deferred_revenue: Dimensions | None = None
    revenue: Dimensions | None = None
    breakage_revenue: Dimensions | None = None
    refunds: Dimensions | None = None
    clearing: Dimensions | None = None


class GLAccounts(BaseModel):
    """Account codes for deferred revenue, revenue, breakage, refunds and clearing, and the
    dimensions their entries are booked under (every line, and lines of one account)."""

    model_config = _FROZEN

    deferred_revenue: str = Field(min_length=1)
    revenue: str = Field(min_length=1)
    breakage_revenue: str = Field(min_length=1)
    refunds: str = Field(min_length=1, description="contra revenue for refunds beyond deferred")
    clearing: str = Field(min_length=1, description="cash / receivable clearing")
    dimensions: Dimensions | None = Field(default=None, description="for every line")
    line_dimensions: LineDimensions | None = Field(default=None, description="per account")
    names: tuple[tuple[str, str], ...] = Field(
        default=(), description="account code -> its name in the chart, for reports"
    )

    @field_validator("names", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Given as a table of code = name; held as sorted pairs, so the accounts stay hashable."""
        return sorted(value.items()) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _named_codes(self) -> Self:
        """A name belongs to one of this table's five codes and says something."""
        codes = set(self.codes().values())
        for code, name in self.names:
            if code not in codes:
                raise ValueError(
                    f"names: {code!r} is not one of this table's account codes "
                    f"({', '.join(sorted(codes))}); name only the accounts the table uses"
                )
            if not name.strip():
                raise ValueError(f"names: the name of {code!r} is empty; give it a name or drop it")
        return self

    def codes(self) -> dict[str, str]:
        """Role -> account code."""
        return {role: getattr(self, role) for role in ROLES}

    def name_of(self, code: str) -> str | None:
        """The chart's name for ``code``; None when the mapping does not name it."""
        name = dict(self.names).get(code)
        return name.strip() if name else None

    def dimensions_of(self, code: str) -> Dimensions | None:
        """The dimensions of lines on ``code`` alone (the entry's apply to the rest)."""
        if self.line_dimensions is None:
            return None
        found = [
            getattr(self.line_dimensions, role)
            for role, mine in self.codes().items()
            if mine == code and getattr(self.line_dimensions, role) is not None
        ]
        return found[0] if found else None


class SinkAccounts(BaseModel):
    """One book's ids for the five accounts and, in a multi-entity book, the legal entity.

    ``account_ref = "number"``: the values are account numbers, resolved to the book's ids once
    when the sink starts; ``"id"``: they are the ids themselves.
    """

    model_config = _FROZEN

    subsidiary: str | None = Field(default=None, min_length=1, description="the book's entity id")
    account_ref: Literal["id", "number"] = "id"
    deferred_revenue: str = Field(min_length=1)
    revenue: str = Field(min_length=1)
    breakage_revenue: str = Field(min_length=1)
    refunds: str = Field(min_length=1)
    clearing: str = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: dict[str, str] = {}
        for role in ROLES:
            value = getattr(self, role)
            if value in seen:
                raise ValueError(
                    f"{role} and {seen[value]} are both {value!r}; each creditsync account needs "
                    "its own account in the book, or what was posted cannot be read back"
                )
            seen[value] = role
        return self

    def ids(self) -> dict[str, str]:
        """Role -> the book's account id (or number)."""
        return {role: getattr(self, role) for role in ROLES}


class GLDefault(GLAccounts):
    """GL accounts with each sink's ids for them (the ``[gl_default]`` table)."""

    sinks: dict[str, SinkAccounts] = Field(
        default_factory=dict, description="sink name -> its ids for these accounts"
    )

    def accounts(self) -> GLAccounts:
        return GLAccounts(**self.model_dump(include=set(GLAccounts.model_fields), by_alias=True))


class SinkBook(BaseModel):
    """A GL rule as one sink sees it: which pools it covers, their codes, and the sink's ids."""

    model_config = _FROZEN

    currency: str | None = Field(description="None: the default for every other currency")
    entity: str | None
    accounts: GLAccounts
    sink: SinkAccounts
