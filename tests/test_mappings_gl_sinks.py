"""The GL tables' dimensions and per-sink account ids: parsed, checked by `mappings check`,
handed to a sink; and the mapping package's imports: nothing of the core but leaf modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connector.cli import mappings_cmd
from connector.kinds import POLICY_NAMES
from connector.ledger.order import POLICIES
from connector.settings import EXAMPLE_MAPPINGS
from mappings.gl import Dimensions
from mappings.loader import check, load_mappings
from mappings.model import MappingSet, canonical_json

USD = """
[[gl]]
currency = "USD"
deferred_revenue = "2350"
revenue = "4010"
breakage_revenue = "4015"
refunds = "4090"
clearing = "1205"
"""
NETSUITE = """
[gl.sinks.netsuite]
subsidiary = "1"
deferred_revenue = "251"
revenue = "54"
breakage_revenue = "55"
refunds = "58"
clearing = "119"
"""
EUR = USD.replace('"USD"', '"EUR"')


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gl.toml"
    path.write_text(text)
    return path


def test_sink_ids_and_dimensions_are_read_and_handed_to_the_sink(tmp_path: Path) -> None:
    text = USD + '[gl.dimensions]\nclass = "2"\n' + NETSUITE
    mappings = load_mappings([write(tmp_path, text)])
    (book,) = mappings.sink_books("ns-production", "netsuite")
    assert (book.currency, book.entity, book.sink.subsidiary) == ("USD", None, "1")
    assert book.sink.ids()["revenue"] == "54"
    assert book.accounts.codes()["revenue"] == "4010"
    assert mappings.gl_accounts("USD").dimensions == Dimensions(class_="2")
    assert mappings.sink_books("files") == []


def test_check_names_a_gl_table_without_the_sinks_ids_the_others_have(tmp_path: Path) -> None:
    result = check([write(tmp_path, USD + NETSUITE + EUR)])
    assert result.mappings is None
    (error,) = result.errors
    assert error.entry == "gl #2 (EUR)" and error.field == "sinks.netsuite"
    assert "[gl.sinks.netsuite]" in error.problem


def test_check_refuses_two_accounts_sharing_one_id_in_the_book(tmp_path: Path) -> None:
    result = check([write(tmp_path, USD + NETSUITE.replace('revenue = "54"', 'revenue = "251"'))])
    assert result.mappings is None
    assert any("deferred_revenue are both '251'" in e.problem for e in result.errors)


def test_a_default_table_needs_the_ids_too(tmp_path: Path) -> None:
    default = USD.replace("[[gl]]", "[gl_default]").replace('currency = "USD"\n', "")
    result = check([write(tmp_path, USD + NETSUITE + default)])
    assert [(e.entry, e.field) for e in result.errors] == [("gl_default", "sinks.netsuite")]


def test_the_cli_check_prints_the_problem(tmp_path: Path) -> None:
    app = typer.Typer()
    mappings_cmd.register(app)
    result = CliRunner().invoke(
        app, ["mappings", "check", str(write(tmp_path, USD + NETSUITE + EUR))]
    )
    assert result.exit_code == 1
    assert "sinks.netsuite" in result.output


def test_versions_of_mappings_without_the_new_tables_keep_their_hash(tmp_path: Path) -> None:
    plain = load_mappings([write(tmp_path, USD)])
    content = canonical_json(plain)
    for key in ("sinks", "dimensions", "line_dimensions"):
        assert f'"{key}"' not in content
    stored = MappingSet.model_validate(plain.model_dump(mode="json"))  # as the registry keeps it
    assert stored.version == plain.version
    with_ids = load_mappings([write(tmp_path, USD + NETSUITE)])
    assert with_ids.version != plain.version
    assert MappingSet.model_validate(with_ids.model_dump(mode="json")).version == with_ids.version
    examples = load_mappings([EXAMPLE_MAPPINGS])  # dimensions ("class") and ids of every table
    assert MappingSet.model_validate(examples.model_dump(mode="json")).version == examples.version


def test_the_examples_give_netsuite_ids_for_every_table() -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    books = mappings.sink_books("netsuite")
    assert len(books) == len(mappings.gl)
    assert {b.sink.subsidiary for b in books if b.entity == "acme-gmbh"} == {"3"}


def test_the_policy_names_the_mappings_accept_are_the_ledgers() -> None:
    assert tuple(POLICIES) == POLICY_NAMES


@pytest.mark.parametrize("module", ["mappings.model", "mappings.loader", "mappings.holder"])
def test_the_mapping_package_imports_only_leaf_modules_of_the_core(module: str) -> None:
    code = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('connector')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['connector', 'connector.errors', 'connector.kinds', 'connector.money']"
