"""The mapping model and loader: examples, every bad-input case, GL resolution, plans, versions."""

from __future__ import annotations

import shutil
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import InvalidInput
from connector.ledger.models import BreakageMethod, PoolKind
from connector.settings import EXAMPLE_MAPPINGS
from mappings.expiry import add_months, parse_duration, parse_expiry
from mappings.gl import GLAccounts
from mappings.loader import MappingInvalid, check, load_mappings
from mappings.model import DEFAULT_PLAN, BonusRevenue, MappingSet, NoGLAccounts

DATA = Path(__file__).parent / "data" / "mappings"
BASE = DATA / "base.toml"
EXAMPLES = sorted(EXAMPLE_MAPPINGS.glob("*.toml"))

ENTRY = """
[[catalog]]
platform = "stripe"
item_id = "price_x"
credits = 100
currencies = ["USD"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_for(*paths: Path) -> list[str]:
    return [str(error) for error in check(paths).errors]


def one_error(tmp_path: Path, text: str) -> str:
    """Check base.toml plus ``text``; exactly one problem is expected, returned as printed."""
    errors = errors_for(BASE, write(tmp_path, "extra.toml", text))
    assert len(errors) == 1, errors
    return errors[0]


# --- the examples -------------------------------------------------------------------------


def test_the_example_folder_is_a_valid_mapping_set() -> None:
    result = check([EXAMPLE_MAPPINGS])
    assert result.errors == []
    assert result.files == EXAMPLES
    assert result.mappings is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_entry_of_every_example_file_is_loaded(path: Path) -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for entry in raw.get("catalog", []):
        loaded = mappings.entry(entry["platform"], entry["item_id"])
        assert loaded is not None
        assert loaded.credits == entry["credits"]
    for rule in raw.get("gl", []):
        accounts = mappings.gl_accounts(rule["currency"], rule.get("entity"))
        assert accounts.deferred_revenue == rule["deferred_revenue"]
    for name, plan in raw.get("plans", {}).items():
        assert mappings.plan(name).consumption_order == plan["consumption_order"]


def test_the_examples_cover_what_the_catalog_must_express() -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    stripe = {e.item_id: e for e in mappings.catalog if e.platform == "stripe"}
    assert [stripe[k].credits for k in ("credits_1k", "credits_10k", "credits_100k")] == [
        1_000,
        10_000,
        100_000,
    ]
    assert any(
        e.bonus_revenue is BonusRevenue.NO_REVENUE and e.bonus_credits for e in stripe.values()
    )
    assert any(
        e.bonus_revenue is BonusRevenue.SHARE_PRICE and e.bonus_credits for e in stripe.values()
    )
    assert {e.kind for e in stripe.values()} >= {
        PoolKind.PAID,
        PoolKind.PROMOTIONAL,
        PoolKind.ALLOWANCE,
        PoolKind.REFILL,
    }
    assert stripe["pro_monthly"].expiry == "end_of_period"
    breakage = mappings.breakage_for(stripe["credits_100k"])
    assert (breakage.method, breakage.rate) == (BreakageMethod.PROPORTIONAL, "0.25")
    assert {e.platform for e in mappings.catalog} == {"stripe", "chargebee", "zuora", "files"}
    for currency in ("USD", "EUR", "JPY"):
        mappings.gl_accounts(currency)
    refill = mappings.plan("pro").low_balance.auto_refill
    assert refill is not None and mappings.entry("stripe", refill.items["stripe"]) is not None


# --- every bad input, with its message ----------------------------------------------------


def test_unknown_pool_kind(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", 'credits = 100\nkind = "gold"'))
    assert "extra.toml: catalog #1 (stripe:price_x): kind:" in error
    assert error.endswith(
        "kind: unknown pool kind 'gold'; one of paid, promotional, allowance, refill"
    )


def test_bonus_is_not_an_item_kind(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", 'credits = 100\nkind = "bonus"'))
    assert 'kind: an item is not of kind "bonus"; set bonus_credits' in error


@pytest.mark.parametrize("credits", [-5, 0])
def test_credits_must_be_positive(tmp_path: Path, credits: int) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", f"credits = {credits}"))
    assert error.endswith(
        f"catalog #1 (stripe:price_x): credits: credits per unit must be a positive whole number,"
        f" got {credits}"
    )


def test_negative_bonus_credits(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", "credits = 100\nbonus_credits = -1"))
    assert "bonus_credits: bonus credits per unit cannot be negative, got -1" in error


def test_fractional_credits_are_refused(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", "credits = 100.5"))
    assert "credits: Input should be a valid integer, got 100.5" in error


def test_missing_gl_accounts_for_a_currency_the_entry_is_sold_in(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace('["USD"]', '["USD", "CHF"]'))
    assert error == (
        f"{tmp_path / 'extra.toml'}: catalog #1 (stripe:price_x): currencies: no GL accounts for"
        ' CHF; add a [[gl]] table with currency = "CHF" or a [gl_default] table'
    )


def test_gl_default_covers_every_currency(tmp_path: Path) -> None:
    default = """
[gl_default]
deferred_revenue = "2359"
revenue = "4019"
breakage_revenue = "4029"
refunds = "4099"
clearing = "1209"
"""
    extra = write(tmp_path, "extra.toml", ENTRY.replace('["USD"]', '["USD", "CHF"]') + default)
    mappings = load_mappings([BASE, extra])
    assert mappings.gl_accounts("CHF").deferred_revenue == "2359"
    assert mappings.gl_accounts("USD").deferred_revenue == "2350"


def test_unknown_currency_code(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace('["USD"]', '["USD", "XYZ"]'))
    assert "currencies.1: 'XYZ' is not an ISO 4217 currency code (use e.g. USD)" in error


def test_duplicate_keys_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", ENTRY)
    second = write(tmp_path, "b.toml", ENTRY)
    errors = errors_for(BASE, first, second)
    assert errors == [
        f"{second}: catalog #1 (stripe:price_x): item_id: duplicate key stripe:price_x, "
        f"first defined in {first} catalog #1 (stripe:price_x)"
    ]


def test_duplicate_keys_within_one_file(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY + ENTRY)
    assert "catalog #2 (stripe:price_x): item_id: duplicate key stripe:price_x" in error


def test_duplicate_gl_rules_and_plans_across_files(tmp_path: Path) -> None:
    text = BASE.read_text().split("[[catalog]]")[0]  # defaults, plans and GL, no catalog
    errors = errors_for(BASE, write(tmp_path, "copy.toml", text))
    assert len(errors) == 3
    assert any("gl #1 (USD): currency: duplicate GL accounts for USD" in e for e in errors)
    assert any("duplicate plan 'standard'" in e for e in errors)
    assert any("defaults: already set in" in e for e in errors)


@pytest.mark.parametrize(
    ("expiry", "message"),
    [
        ('"P1X"', "'P1X' is not an ISO 8601 duration"),
        ('"12 months"', "'12 months' is neither an ISO 8601 duration nor a timestamp"),
        ('"PT1.5H"', "fractional durations are not supported; use a smaller unit"),
        ('"P0D"', "'P0D' is a zero duration"),
        ('"PT"', "'PT' is not an ISO 8601 duration"),
        ("2026-12-31", "is a date without a time and offset; write e.g. 2026-12-31T00:00:00Z"),
        ("2026-12-31T00:00:00", "has no offset"),
    ],
)
def test_expiry_that_does_not_parse(tmp_path: Path, expiry: str, message: str) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", f"credits = 100\nexpiry = {expiry}"))
    assert "catalog #1 (stripe:price_x): expiry: " in error
    assert message in error


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ('{ method = "proportional", rate = "1" }', "breakage rate 1 is outside [0, 1)"),
        ('{ method = "proportional", rate = "-0.1" }', "breakage rate -0.1 is outside [0, 1)"),
        ('{ method = "proportional", rate = "a lot" }', "'a lot' is not a decimal rate"),
        ('{ method = "proportional", rate = 0.25 }', "0.25 is a float; write the rate as quoted"),
        ('{ method = "remote", rate = "0.2" }', 'a breakage rate applies only to method = "propor'),
        ('"eventually"', "Input should be 'remote' or 'proportional', got 'eventually'"),
        ('"proportional"', 'proportional breakage needs an estimated rate, e.g. rate = "0.25"'),
    ],
)
def test_bad_breakage_policy(tmp_path: Path, breakage: str, message: str) -> None:
    error = one_error(
        tmp_path, ENTRY.replace("credits = 100", f"credits = 100\nbreakage = {breakage}")
    )
    assert "catalog #1 (stripe:price_x): breakage" in error
    assert message in error


def test_proportional_rate_is_kept_as_exact_text(tmp_path: Path) -> None:
    extra = write(
        tmp_path,
        "extra.toml",
        ENTRY.replace(
            "credits = 100",
            'credits = 100\nbreakage = { method = "proportional", rate = "0.333333333333333333" }',
        ),
    )
    entry = load_mappings([BASE, extra]).entry("stripe", "price_x")
    assert entry is not None and entry.breakage is not None
    assert entry.breakage.rate == "0.333333333333333333"


def test_unknown_consumption_order_policy(tmp_path: Path) -> None:
    error = one_error(tmp_path, '[plans.fast]\nconsumption_order = "fastest_first"\n')
    assert error.endswith(
        "plans.fast: consumption_order: unknown consumption-order policy 'fastest_first'; "
        "one of soonest_expiry, priority_first, oldest_first, free_first"
    )


def test_bad_low_balance_policy(tmp_path: Path) -> None:
    text = """
[plans.capped.low_balance]
notify_below = -1
limit = "soft"

[plans.capped.low_balance.auto_refill]
below = 100
items = { stripe = "price_missing" }
"""
    errors = errors_for(BASE, write(tmp_path, "extra.toml", text))
    assert any(
        "plans.capped: low_balance.notify_below: Input should be greater" in e for e in errors
    )
    assert any(
        "plans.capped: low_balance.limit: Input should be 'hard' or 'overage'" in e for e in errors
    )


def test_auto_refill_item_must_be_in_the_catalog(tmp_path: Path) -> None:
    text = """
[plans.refilled.low_balance.auto_refill]
below = 100
items = { stripe = "price_missing" }
"""
    error = one_error(tmp_path, text)
    assert (
        "plans.refilled: low_balance.auto_refill.items.stripe: stripe:price_missing is not" in error
    )


def test_plan_named_by_an_entry_must_exist(tmp_path: Path) -> None:
    error = one_error(tmp_path, ENTRY.replace("credits = 100", 'credits = 100\nplan = "gold"'))
    assert "catalog #1 (stripe:price_x): plan: no plan named 'gold' (plans: standard)" in error


def test_misspelled_field(tmp_path: Path) -> None:
    errors = errors_for(BASE, write(tmp_path, "extra.toml", ENTRY.replace("credits", "credit")))
    assert any(e.endswith("credits: is required") for e in errors)
    assert any(
        "credit: unknown field; allowed: platform, item_id, name, credits" in e for e in errors
    )


def test_unknown_section_and_toml_syntax(tmp_path: Path) -> None:
    assert one_error(tmp_path, "[catalogue]\nx = 1\n").endswith(
        "extra.toml: catalogue: unknown section; allowed: catalog, gl, gl_default, plans, defaults"
    )
    error = one_error(tmp_path, "[[catalog]\nplatform = 1\n")
    assert "extra.toml: is not valid TOML:" in error and "line 1" in error


def test_missing_paths_and_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    errors = errors_for(tmp_path / "nope.toml", tmp_path / "empty")
    assert errors == [
        f"{tmp_path / 'nope.toml'}: no such file or folder",
        f"{tmp_path / 'empty'}: no *.toml mapping files here",
    ]


def test_a_file_named_twice_is_read_once() -> None:
    result = check([BASE, DATA, BASE])
    assert result.files == [BASE, DATA / "broken.toml"]


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_for(BASE, DATA / "broken.toml")
    broken = str(DATA / "broken.toml")
    assert all(e.startswith(broken) for e in errors)
    expected = [
        "catalog #1 (stripe:price_bad_kind): kind:",
        "catalog #2 (stripe:price_negative): credits:",
        "catalog #2 (stripe:price_negative): expiry:",
        "catalog #3 (stripe:price_chf): currencies: no GL accounts for CHF",
        "catalog #4 (stripe:price_rate): breakage.rate: breakage rate 1.5 is outside [0, 1)",
        "plans.fast: consumption_order:",
    ]
    assert len(errors) == len(expected)
    for fragment, error in zip(expected, errors, strict=True):
        assert fragment in error
    with pytest.raises(MappingInvalid) as raised:
        load_mappings([BASE, DATA / "broken.toml"])
    assert len(raised.value.errors) == len(expected)
    assert "6 problem(s) in the mapping files" in raised.value.message


# --- expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "end"),
    [
        ("2026-01-31T10:00:00", "P1M", "2026-02-28T10:00:00"),
        ("2024-01-31T00:00:00", "P1M", "2024-02-29T00:00:00"),
        ("2024-02-29T00:00:00", "P1Y", "2025-02-28T00:00:00"),
        ("2026-01-15T00:00:00", "P3M", "2026-04-15T00:00:00"),
        ("2026-01-05T00:00:00", "P6M", "2026-07-05T00:00:00"),
        ("2026-11-30T00:00:00", "P12M", "2027-11-30T00:00:00"),
        ("2026-01-01T00:00:00", "P30D", "2026-01-31T00:00:00"),
        ("2026-01-01T23:30:00", "PT1H", "2026-01-02T00:30:00"),
        ("2026-01-31T00:00:00", "P1M2W3DT4H5M6S", "2026-03-17T04:05:06"),
        ("2026-03-31T00:00:00", "p1m", "2026-04-30T00:00:00"),
    ],
)
def test_durations_add_calendar_months_with_day_clamping(
    start: str, duration: str, end: str
) -> None:
    begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert parse_duration(duration).after(begin) == datetime.fromisoformat(end).replace(tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2900, 1, 1)),
    st.integers(min_value=0, max_value=1200),
)
def test_adding_months_moves_the_month_exactly_and_never_overflows(
    start: datetime, months: int
) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    last_day = (moved + timedelta(days=1)).day == 1
    assert moved.day == start.day or (moved.day < start.day and last_day)
    assert moved.time() == start.time()


def test_expiry_rules() -> None:
    paid = datetime(2026, 1, 15, tzinfo=UTC)
    period_end = datetime(2026, 2, 15, tzinfo=UTC)
    assert parse_expiry("none").resolve(paid, period_end) is None
    assert parse_expiry("end_of_period").resolve(paid, period_end) == period_end
    fixed = parse_expiry("2026-12-31T23:00:00-01:00")
    assert fixed.text == "2027-01-01T00:00:00Z"
    assert fixed.resolve(paid, None) == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="the purchase has no period_end"):
        parse_expiry("end_of_period").resolve(paid, None)


# --- GL accounts, plans, versions ---------------------------------------------------------


def _accounts(prefix: str) -> GLAccounts:
    return GLAccounts(
        deferred_revenue=f"{prefix}-d",
        revenue=f"{prefix}-r",
        breakage_revenue=f"{prefix}-b",
        refunds=f"{prefix}-x",
        clearing=f"{prefix}-c",
    )


def test_gl_resolution_entity_then_currency_then_default() -> None:
    rules = [
        {**_accounts("eur").model_dump(), "currency": "EUR"},
        {**_accounts("gmbh").model_dump(), "currency": "EUR", "entity": "acme-gmbh"},
    ]
    with_default = MappingSet.model_validate({"gl": rules, "gl_default": _accounts("any")})
    assert with_default.gl_accounts("eur", "acme-gmbh") == _accounts("gmbh")
    assert with_default.gl_accounts("EUR", "acme-inc") == _accounts("eur")
    assert with_default.gl_accounts("EUR") == _accounts("eur")
    assert with_default.gl_accounts("JPY", "acme-gmbh") == _accounts("any")
    without_default = MappingSet.model_validate({"gl": rules})
    with pytest.raises(NoGLAccounts) as raised:
        without_default.gl_accounts("JPY", "acme-gmbh")
    assert raised.value.field == "currency"
    assert "no GL accounts for JPY and entity acme-gmbh" in raised.value.message
    assert 'add a [[gl]] table with currency = "JPY"' in raised.value.message


def test_plans_by_name_and_default() -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    assert mappings.plan(None).name == "standard"
    pro = mappings.plan("pro")
    assert pro.low_balance.limit == "overage"
    assert pro.low_balance.auto_refill is not None and pro.low_balance.auto_refill.below == 2000
    assert mappings.plan("enterprise").consumption_order == "free_first"
    with pytest.raises(InvalidInput, match="no plan named 'gold'"):
        mappings.plan("gold")
    assert MappingSet().plan(None) == DEFAULT_PLAN


def test_version_depends_on_content_not_on_file_layout(tmp_path: Path) -> None:
    text = BASE.read_text()
    head, entry = text.split("[[catalog]]")
    second = ENTRY.replace("price_x", "price_y")
    one_file = write(tmp_path, "one.toml", text + second)
    split = tmp_path / "split"
    split.mkdir()
    write(split, "1.toml", second)
    write(split, "2.toml", head)
    write(split, "3.toml", "[[catalog]]" + entry)
    version = load_mappings([one_file]).version
    assert len(version) == 64 and int(version, 16) >= 0
    assert load_mappings([split]).version == version
    changed = write(tmp_path, "changed.toml", text + second.replace("100", "101"))
    assert load_mappings([changed]).version != version


def test_a_mapping_set_checks_itself_when_built_from_data() -> None:
    entry = {"platform": "stripe", "item_id": "p", "credits": 1, "currencies": ["USD"]}
    with pytest.raises(ValueError, match=r"catalog\[0\].currencies: no GL accounts for USD"):
        MappingSet.model_validate({"catalog": [entry]})


def test_folders_are_read_recursively(tmp_path: Path) -> None:
    nested = tmp_path / "mappings" / "examples"
    shutil.copytree(EXAMPLE_MAPPINGS, nested)
    result = check([tmp_path / "mappings"])
    assert result.errors == []
    assert sorted(p.name for p in result.files) == sorted(p.name for p in EXAMPLES)
