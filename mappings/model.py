"""The mapping model: what a business sells, as data.

A catalog entry says what one platform item grants (credits, bonus, pool kind, expiry, priority,
how bonus credits share the price, breakage policy); GL rules say which accounts a currency (and
optionally a legal entity) posts to; plans hold the consumption order and low-balance policy an
account follows. A ``MappingSet`` is the merged, checked whole, and its ``version`` is a hash of
its content so that every pool can record exactly which mapping created it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    field_validator,
    model_validator,
)

from connector.errors import InvalidInput
from connector.kinds import DEFAULT_POLICY, POLICY_NAMES, BreakageMethod, PoolKind
from connector.money import normalize_currency
from mappings.expiry import NONE, Expiry, parse_expiry
from mappings.gl import GLAccounts, GLDefault, SinkBook


def _currency(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a currency code; use e.g. USD")
    try:
        return normalize_currency(value)
    except InvalidInput as exc:
        raise ValueError(f"{exc.problem} ({exc.fix})") from None


Currency = Annotated[str, BeforeValidator(_currency)]
Platform = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="e.g. stripe")]
Text = Annotated[str, Field(min_length=1)]

_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")
# the kinds an item grants; bonus is the second pool of an item with bonus credits
ITEM_KINDS: Final = tuple(kind for kind in PoolKind if kind is not PoolKind.BONUS)


class BonusRevenue(StrEnum):
    SHARE_PRICE = "share_price"  # the price is allocated over paid + bonus credits
    NO_REVENUE = "no_revenue"  # bonus credits carry no revenue; the paid pool takes it all


class Breakage(BaseModel):
    """Remote (all at expiry) or proportional (as credits are used, at an estimated rate)."""

    model_config = _FROZEN

    method: BreakageMethod = BreakageMethod.REMOTE
    rate: str = Field(default="0", description="exact decimal text in [0, 1)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"method": data}
        if isinstance(data, dict) and data.get("method") == "proportional" and "rate" not in data:
            raise ValueError('proportional breakage needs an estimated rate, e.g. rate = "0.25"')
        return data

    @field_validator("rate", mode="before")
    @classmethod
    def _exact_rate(cls, value: Any) -> str:
        if isinstance(value, float):
            raise ValueError(
                f'{value!r} is a float; write the rate as quoted decimal text, e.g. rate = "0.25",'
                " so it stays exact"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f'{value!r} is not a decimal rate; write e.g. rate = "0.25"')
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f'{value!r} is not a decimal rate; write e.g. rate = "0.25"') from None
        if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
            raise ValueError(
                f"breakage rate {value} is outside [0, 1); it is the share of credits expected "
                'never to be used, e.g. "0.25"'
            )
        return value.strip()

    @model_validator(mode="after")
    def _rate_needs_proportional(self) -> Self:
        if self.method is BreakageMethod.REMOTE and Decimal(self.rate) != 0:
            raise ValueError('a breakage rate applies only to method = "proportional"')
        return self


class CatalogEntry(BaseModel):
    """One sellable item on one platform and the credits each unit of it grants."""

    model_config = _FROZEN

    platform: Platform
    item_id: Text = Field(description="Stripe price id or lookup key, Chargebee item price id, ...")
    name: str = ""
    credits: StrictInt = Field(description="paid credits per unit")
    bonus_credits: StrictInt = Field(default=0, description="bonus credits per unit")
    kind: PoolKind = PoolKind.PAID
    expiry: str = Field(default=NONE, description="P12M, a timestamp, end_of_period or none")
    priority: StrictInt = 100
    bonus_revenue: BonusRevenue = BonusRevenue.SHARE_PRICE
    breakage: Breakage | None = Field(default=None, description="None: the default policy")
    currencies: tuple[Currency, ...] = Field(min_length=1, description="currencies it is sold in")
    entity: Text | None = Field(default=None, description="legal entity selling it (GL lookup)")
    plan: Text | None = Field(default=None, description="plan an account buying it moves to")

    _expiry: Expiry = PrivateAttr()

    @field_validator("credits")
    @classmethod
    def _positive_credits(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"credits per unit must be a positive whole number, got {value}")
        return value

    @field_validator("bonus_credits")
    @classmethod
    def _non_negative_bonus(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"bonus credits per unit cannot be negative, got {value}")
        return value

    @field_validator("kind", mode="before")
    @classmethod
    def _item_kind(cls, value: Any) -> Any:
        kinds = ", ".join(kind.value for kind in ITEM_KINDS)
        if value == PoolKind.BONUS.value:
            raise ValueError(
                'an item is not of kind "bonus"; set bonus_credits on it (or use "promotional")'
            )
        if value not in {kind.value for kind in ITEM_KINDS}:
            raise ValueError(f"unknown pool kind {value!r}; one of {kinds}")
        return value

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry_rule(cls, value: Any) -> str:
        return parse_expiry(value).text

    @field_validator("currencies")
    @classmethod
    def _distinct_currencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({c for c in value if value.count(c) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return tuple(sorted(value))

    def model_post_init(self, context: Any, /) -> None:
        self._expiry = parse_expiry(self.expiry)

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.item_id)

    @property
    def expiry_rule(self) -> Expiry:
        return self._expiry


class GLRule(GLDefault):
    """GL accounts for one currency, optionally only for one legal entity."""

    currency: Currency
    entity: Text | None = None


class AutoRefill(BaseModel):
    model_config = _FROZEN

    below: StrictInt = Field(ge=0, description="refill when the balance drops below this")
    quantity: StrictInt = Field(default=1, gt=0)
    items: dict[Platform, Text] = Field(
        min_length=1, description="platform -> catalog item id charged for the refill"
    )


class LowBalance(BaseModel):
    """Stored now and acted on by the burn path: notify, refill, then hard limit or overage."""

    model_config = _FROZEN

    notify_below: StrictInt | None = Field(default=None, ge=0)
    auto_refill: AutoRefill | None = None
    limit: Literal["hard", "overage"] = "hard"


class PlanBody(BaseModel):
    model_config = _FROZEN

    consumption_order: str = DEFAULT_POLICY
    low_balance: LowBalance = LowBalance()

    @field_validator("consumption_order")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in POLICY_NAMES:
            raise ValueError(
                f"unknown consumption-order policy {value!r}; one of {', '.join(POLICY_NAMES)}"
            )
        return value


class Plan(PlanBody):
    name: Text


DEFAULT_PLAN: Final = Plan(name="default")


class Defaults(BaseModel):
    model_config = _FROZEN

    breakage: Breakage = Breakage()
    plan: Text | None = Field(default=None, description="plan of accounts no item assigns")


class NoGLAccounts(InvalidInput):
    """No GL rule and no default covers a currency (and entity)."""


@dataclass(frozen=True)
class Problem:
    """An inconsistency between parts of a mapping set; indices point into its sections."""

    section: str  # catalog | gl | plans | defaults
    index: int
    field: str
    message: str
    first: tuple[str, int] | None = None  # the earlier definition a duplicate collides with


GLKey = tuple[str, str | None]


def _gl_index(rules: Iterable[GLRule]) -> dict[GLKey, GLAccounts]:
    return {(rule.currency, rule.entity): rule.accounts() for rule in rules}


def _sink_problems(gl: Sequence[GLRule], gl_default: GLDefault | None) -> list[Problem]:
    """A sink named in one GL table must be in all of them: an entry it cannot place would
    wait in the outbox forever."""
    tables: list[tuple[str, int, GLDefault]] = [("gl", i, rule) for i, rule in enumerate(gl)]
    if gl_default is not None:
        tables.append(("gl_default", 0, gl_default))
    named = sorted({sink for _, _, table in tables for sink in table.sinks})
    problems: list[Problem] = []
    for section, i, table in tables:
        for sink in named:
            if sink not in table.sinks:
                problems.append(
                    Problem(
                        section,
                        i,
                        f"sinks.{sink}",
                        f"no {sink} accounts here while other GL tables have them; add a "
                        f"[gl.sinks.{sink}] table with its ids for the five accounts",
                    )
                )
    return problems


def _resolve_gl(
    index: dict[GLKey, GLAccounts], default: GLAccounts | None, currency: str, entity: str | None
) -> GLAccounts | None:
    if entity is not None and (currency, entity) in index:
        return index[(currency, entity)]
    return index.get((currency, None), default)


def consistency_problems(
    catalog: Sequence[CatalogEntry],
    gl: Sequence[GLRule],
    gl_default: GLDefault | None,
    plans: Sequence[Plan],
    defaults: Defaults,
) -> list[Problem]:
    """What is wrong across entries: duplicates, dangling plan names, currencies without GL."""
    problems: list[Problem] = []
    seen_items: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(catalog):
        if entry.key in seen_items:
            problems.append(
                Problem(
                    "catalog",
                    i,
                    "item_id",
                    f"duplicate key {entry.platform}:{entry.item_id}",
                    ("catalog", seen_items[entry.key]),
                )
            )
        else:
            seen_items[entry.key] = i
    seen_gl: dict[GLKey, int] = {}
    for i, rule in enumerate(gl):
        key = (rule.currency, rule.entity)
        if key in seen_gl:
            scope = rule.currency + (f" and entity {rule.entity}" if rule.entity else "")
            problems.append(
                Problem(
                    "gl", i, "currency", f"duplicate GL accounts for {scope}", ("gl", seen_gl[key])
                )
            )
        else:
            seen_gl[key] = i
    seen_plans: dict[str, int] = {}
    for i, plan in enumerate(plans):
        if plan.name in seen_plans:
            problems.append(
                Problem(
                    "plans",
                    i,
                    "name",
                    f"duplicate plan {plan.name!r}",
                    ("plans", seen_plans[plan.name]),
                )
            )
        else:
            seen_plans[plan.name] = i
    problems.extend(_sink_problems(gl, gl_default))
    index = _gl_index(gl)
    default = gl_default.accounts() if gl_default is not None else None
    names = ", ".join(sorted(seen_plans)) or "none defined"
    for i, entry in enumerate(catalog):
        for currency in entry.currencies:
            if _resolve_gl(index, default, currency, entry.entity) is None:
                scope = currency + (f" and entity {entry.entity}" if entry.entity else "")
                problems.append(
                    Problem(
                        "catalog",
                        i,
                        "currencies",
                        f"no GL accounts for {scope}; add a [[gl]] table with "
                        f'currency = "{currency}" or a [gl_default] table',
                    )
                )
        if entry.plan is not None and entry.plan not in seen_plans:
            problems.append(
                Problem("catalog", i, "plan", f"no plan named {entry.plan!r} (plans: {names})")
            )
    if defaults.plan is not None and defaults.plan not in seen_plans:
        problems.append(
            Problem("defaults", 0, "plan", f"no plan named {defaults.plan!r} (plans: {names})")
        )
    for i, plan in enumerate(plans):
        refill = plan.low_balance.auto_refill
        for platform, item_id in sorted(refill.items.items()) if refill else ():
            if (platform, item_id) not in seen_items:
                problems.append(
                    Problem(
                        "plans",
                        i,
                        f"low_balance.auto_refill.items.{platform}",
                        f"{platform}:{item_id} is not in the catalog; a refill must grant credits",
                    )
                )
    return problems


class MappingSet(BaseModel):
    """Every mapping in force, merged from one or more files and checked as a whole."""

    model_config = _FROZEN

    catalog: tuple[CatalogEntry, ...] = ()
    gl: tuple[GLRule, ...] = ()
    gl_default: GLDefault | None = None
    plans: tuple[Plan, ...] = ()
    defaults: Defaults = Defaults()

    _items: dict[tuple[str, str], CatalogEntry] = PrivateAttr()
    _gl: dict[GLKey, GLAccounts] = PrivateAttr()
    _plans: dict[str, Plan] = PrivateAttr()
    _version: str = PrivateAttr()

    @field_validator("gl_default", mode="before")
    @classmethod
    def _plain_accounts(cls, value: Any) -> Any:
        """Plain GLAccounts are a default with no sink ids."""
        if isinstance(value, GLAccounts) and not isinstance(value, GLDefault):
            return value.model_dump(by_alias=True)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = consistency_problems(
            self.catalog, self.gl, self.gl_default, self.plans, self.defaults
        )
        if problems:
            raise ValueError(
                "; ".join(f"{p.section}[{p.index}].{p.field}: {p.message}" for p in problems)
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._items = {entry.key: entry for entry in self.catalog}
        self._gl = _gl_index(self.gl)
        self._plans = {plan.name: plan for plan in self.plans}
        self._version = hashlib.sha256(canonical_json(self).encode()).hexdigest()

    @property
    def version(self) -> str:
        """sha256 of the canonical content: independent of file layout and entry order."""
        return self._version

    def entry(self, platform: str, item_id: str) -> CatalogEntry | None:
        return self._items.get((platform, item_id))

    def matches(self, platform: str, item_ids: Iterable[str]) -> list[CatalogEntry]:
        """Distinct entries any of ``item_ids`` (an item id and its aliases) maps to."""
        found: list[CatalogEntry] = []
        for item_id in item_ids:
            entry = self._items.get((platform, item_id))
            if entry is not None and entry not in found:
                found.append(entry)
        return found

    def gl_accounts(self, currency: str, entity: str | None = None) -> GLAccounts:
        """Entity-specific beats currency-level beats the default; NoGLAccounts when none."""
        code = normalize_currency(currency)
        default = self.gl_default.accounts() if self.gl_default is not None else None
        accounts = _resolve_gl(self._gl, default, code, entity)
        if accounts is None:
            scope = code + (f" and entity {entity}" if entity else "")
            raise NoGLAccounts(
                "currency",
                f"no GL accounts for {scope} in mapping {self.version[:12]}",
                f'add a [[gl]] table with currency = "{code}" or a [gl_default] table',
            )
        return accounts

    def sink_books(self, *names: str) -> list[SinkBook]:
        """Every GL table's ids in the first of ``names`` it has (a connection name, then its
        platform), the default last; empty when no table names any of them."""
        tables: list[tuple[str | None, str | None, GLDefault]] = [
            (rule.currency, rule.entity, rule) for rule in self.gl
        ]
        if self.gl_default is not None:
            tables.append((None, None, self.gl_default))
        books: list[SinkBook] = []
        for currency, entity, table in tables:
            sink = next((table.sinks[n] for n in names if n in table.sinks), None)
            if sink is not None:
                books.append(
                    SinkBook(currency=currency, entity=entity, accounts=table.accounts(), sink=sink)
                )
        return books

    def plan(self, name: str | None) -> Plan:
        """The named plan; None: the default plan (or the built-in one when none is set)."""
        if name is None:
            name = self.defaults.plan
            if name is None:
                return DEFAULT_PLAN
        try:
            return self._plans[name]
        except KeyError:
            names = ", ".join(sorted(self._plans)) or "none defined"
            raise InvalidInput("plan", f"no plan named {name!r}", f"one of: {names}") from None

    def breakage_for(self, entry: CatalogEntry) -> Breakage:
        return entry.breakage or self.defaults.breakage


UNSET_WHEN_EMPTY: Final = ("dimensions", "line_dimensions", "sinks", "names")


def canonical_json(mappings: MappingSet) -> str:
    """The content as JSON with every list in key order, so equal content hashes equally."""
    data = mappings.model_dump(mode="json")
    for table in [*data["gl"], data["gl_default"] or {}]:
        for key in UNSET_WHEN_EMPTY:  # absent as before they existed: versions keep their hash
            if key in table and not table[key]:
                del table[key]
    data["catalog"].sort(key=lambda e: (e["platform"], e["item_id"]))
    data["gl"].sort(key=lambda r: (r["currency"], r["entity"] or ""))
    data["plans"].sort(key=lambda p: p["name"])
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
