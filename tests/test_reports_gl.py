"""GL account codes and their names in the reports, grouping by account, and naming accounts in
the mappings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from connector.cli import app
from connector.recognition.closing import close_period
from connector.recognition.run import recognize
from connector.reports.deferred import deferred_by_customer
from connector.reports.liability import liability
from connector.reports.model import GLAccountOf, Row
from connector.reports.rollforward import Filters, compact, rollforward
from connector.reports.waterfall import waterfall
from mappings.loader import check, load_mappings
from mappings.model import MappingSet
from tests.test_mappings_gl_sinks import USD
from tests.test_recognition_helpers import GL, at, burn, grant, month_start, new_ledger

MAPPING = (
    USD
    + """
[[gl]]
currency = "USD"
entity = "acme-gmbh"
deferred_revenue = "DE-1750"
revenue = "DE-8400"
breakage_revenue = "DE-8405"
refunds = "DE-8700"
clearing = "DE-1360"
"""
)
NAMES = '\n[gl.names]\n"DE-1750" = "Vertragsverbindlichkeiten"\n'


def _mappings(tmp_path: Path, text: str) -> MappingSet:
    path = tmp_path / "gl.toml"
    path.write_text(text)
    return load_mappings([path])


def _history(engine: Engine) -> None:
    """USD pools under two entities, each posting to its own deferred-revenue account; one
    period closed, so the grouped rows tie to balances kept at close as well as recomputed."""
    ledger = new_ledger(engine)
    grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 5, 0))
    grant(ledger, amount=3000, credits=300, effective_at=at(2026, 1, 6, 0), account="b")
    grant(ledger, amount=4000, credits=400, effective_at=at(2026, 2, 2, 0), entity="acme-gmbh")
    burn(ledger, 400, at(2026, 1, 20))
    burn(ledger, 100, at(2026, 2, 20), account="b")
    recognize(engine, month_start(2026, 2), GL)
    with engine.begin() as conn:
        close_period(conn, "2026-01")
    recognize(engine, month_start(2026, 3), GL)


def _account_of(mappings: MappingSet) -> GLAccountOf:
    def gl_account(_v: str | None, currency: str, entity: str | None) -> tuple[str, str | None]:
        accounts = mappings.gl_accounts(currency, entity)
        return accounts.deferred_revenue, accounts.name_of(accounts.deferred_revenue)

    return gl_account


MONEY = "opening billings recognized breakage refunds closing late subledger difference contra"


def _summed(rows: tuple[Row, ...]) -> dict[str, dict[str, int]]:
    """Each period's money columns added over the rows of that period."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        sums = out.setdefault(str(row["period"]), dict.fromkeys(MONEY.split(), 0))
        for key in MONEY.split():
            value = row[key]
            assert isinstance(value, int)
            sums[key] += value
    return out


def test_the_rollforward_names_each_currencys_accounts_and_groups_by_them(
    engine: Engine, tmp_path: Path
) -> None:
    _history(engine)
    account_of = _account_of(_mappings(tmp_path, MAPPING + NAMES))
    with engine.connect() as conn:
        plain = rollforward(conn, filters=Filters(currency="usd"), gl_account=account_of)
        grouped = rollforward(conn, gl_account=account_of, by_gl_account=True)
        gmbh = rollforward(conn, filters=Filters(entity="acme-gmbh"), gl_account=account_of)
        with pytest.raises(ValueError, match="gl_account"):
            rollforward(conn, by_gl_account=True)
    assert {(r["gl_account"], r["gl_name"]) for r in plain.rows} == {
        ("2350, DE-1750", "Vertragsverbindlichkeiten")
    }
    by_account = {(r["gl_account"], r["period"]): r for r in grouped.rows}
    assert {k[0] for k in by_account} == {"2350", "DE-1750"}
    assert by_account[("DE-1750", "2026-02")]["gl_name"] == "Vertragsverbindlichkeiten"
    assert by_account[("2350", "2026-02")]["gl_name"] is None
    assert by_account[("DE-1750", "2026-02")]["billings"] == 4000
    assert all(r["check"] == "ties" for r in grouped.rows)
    assert _summed(grouped.rows) == _summed(plain.rows)
    gmbh_periods = {r["period"] for r in gmbh.rows}
    assert gmbh_periods == {"2026-02"}
    assert [
        r for r in grouped.rows if r["gl_account"] == "DE-1750" and r["period"] in gmbh_periods
    ] == list(gmbh.rows)
    assert {s.key for s in compact(grouped).sections} == {"USD 2350", "USD DE-1750"}


def test_the_deferred_and_liability_reports_show_the_account_and_its_name(
    engine: Engine, tmp_path: Path
) -> None:
    _history(engine)
    account_of = _account_of(_mappings(tmp_path, MAPPING + NAMES))
    with engine.connect() as conn:
        deferred = deferred_by_customer(conn, month_start(2026, 3), account_of)
        owed = liability(conn, month_start(2026, 3), account_of)
        unnamed = liability(conn, month_start(2026, 3))
    accounts = {(r["account"], r["gl_account"], r["gl_name"]) for r in deferred.rows}
    assert ("acme", "2350", None) in accounts
    assert ("acme", "DE-1750", "Vertragsverbindlichkeiten") in accounts
    kinds = {(r["gl_account"], r["gl_name"]): r for r in owed.section("kind").rows}
    assert set(kinds) == {("2350", None), ("DE-1750", "Vertragsverbindlichkeiten")}
    assert kinds[("DE-1750", "Vertragsverbindlichkeiten")]["deferred"] == 4000
    for key in ("kind", "expiry"):
        (split,) = owed.section(key).totals()
        (whole,) = unnamed.section(key).totals()
        assert split == whole


def test_mappings_without_names_keep_their_version(tmp_path: Path) -> None:
    plain = _mappings(tmp_path, MAPPING)
    assert '"names"' not in plain.model_dump_json(exclude_defaults=True)
    stored = MappingSet.model_validate(plain.model_dump(mode="json"))  # as the registry keeps it
    assert stored.version == plain.version
    named = _mappings(tmp_path, MAPPING + NAMES)
    assert named.version != plain.version
    assert MappingSet.model_validate(named.model_dump(mode="json")).version == named.version
    assert named.gl_accounts("USD", "acme-gmbh").name_of("DE-1750") == "Vertragsverbindlichkeiten"
    assert named.gl_accounts("USD").name_of("2350") is None


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ('"2350" = "Deferred revenue"', "'2350' is not one of this table's account codes"),
        ('"DE-1750" = "  "', "the name of 'DE-1750' is empty"),
    ],
)
def test_check_refuses_a_name_for_an_unknown_code_or_an_empty_name(
    tmp_path: Path, names: str, problem: str
) -> None:
    path = tmp_path / "gl.toml"
    path.write_text(MAPPING + f"\n[gl.names]\n{names}\n")
    result = check([path])
    assert result.mappings is None
    (error,) = result.errors
    assert error.entry == "gl #2 (USD:acme-gmbh)"
    assert problem in error.problem


def test_the_cli_refuses_an_unknown_grouping() -> None:
    outcome = CliRunner().invoke(app, ["report", "rollforward", "--group-by", "customer"])
    assert outcome.exit_code != 0
    assert "--group-by" in outcome.output and "currency or gl" in outcome.output


def test_the_waterfall_names_the_revenue_account_each_row_books_to(
    engine: Engine, tmp_path: Path
) -> None:
    _history(engine)
    named = USD + '\n[gl.names]\n"4010" = "Credit revenue"\n"4015" = "Breakage revenue"\n'
    mappings = _mappings(tmp_path, named)
    with engine.connect() as conn:
        report = waterfall(conn, "USD", mappings.gl_accounts)
        plain = waterfall(conn, "USD")
    released = report.section("released")
    assert {(r["gl_account"], r["gl_name"]) for r in released.rows} == {("4010", "Credit revenue")}
    breakage_keys = [c.key for c in report.section("breakage").columns]
    assert "gl_account" in breakage_keys and "gl_name" in breakage_keys
    assert released.totals() == plain.section("released").totals()
    assert "gl_account" not in [c.key for c in plain.section("released").columns]
