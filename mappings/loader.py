"""Read mapping TOML files (or folders of them) into one checked ``MappingSet``.

Each entry is validated on its own so that one bad entry does not hide the others: the loader
reports every problem at once, each naming the file, the entry and the field, and builds a
mapping set only when there are none.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from connector.errors import CreditsyncError
from mappings.gl import GLDefault
from mappings.model import (
    CatalogEntry,
    Defaults,
    GLRule,
    MappingSet,
    Plan,
    PlanBody,
    consistency_problems,
)

SECTIONS: Final = ("catalog", "gl", "gl_default", "plans", "defaults")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class MappingError:
    """One problem, located: which file, which entry in it, which field."""

    file: str
    entry: str
    field: str
    problem: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.entry, self.field) if part)
        return f"{where}: {self.problem}"


class MappingInvalid(CreditsyncError):
    """The mapping files have problems; nothing was loaded."""

    code = "invalid_mapping"

    def __init__(self, errors: Sequence[MappingError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(f"{len(self.errors)} problem(s) in the mapping files:\n{lines}")


@dataclass(frozen=True)
class Origin:
    file: str
    label: str
    seq: int  # reading order, so that problems are listed in the order of the files


class _Errors(list[tuple[int, MappingError]]):
    """Problems with the reading position they belong to."""

    seq = 0

    def add(self, error: MappingError, seq: int | None = None) -> None:
        self.append((self.seq if seq is None else seq, error))

    def sorted(self) -> list[MappingError]:
        return [error for _, error in sorted(self, key=lambda pair: pair[0])]


@dataclass
class _Parts:
    """Validated entries of every file read so far, each with the place it came from."""

    files: list[Path] = field(default_factory=list)
    catalog: list[tuple[CatalogEntry, Origin]] = field(default_factory=list)
    gl: list[tuple[GLRule, Origin]] = field(default_factory=list)
    plans: list[tuple[Plan, Origin]] = field(default_factory=list)
    gl_default: tuple[GLDefault, Origin] | None = None
    defaults: tuple[Defaults, Origin] | None = None


@dataclass(frozen=True)
class CheckResult:
    files: list[Path]
    mappings: MappingSet | None
    errors: list[MappingError]


def mapping_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[MappingError]]:
    """The TOML files named, or found in the folders named (and their subfolders), in a stable
    order.

    A file named twice (itself and through its folder) is read once.
    """
    found: list[Path] = []
    errors: list[MappingError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not inside:
                errors.append(MappingError(str(path), "", "", "no *.toml mapping files here"))
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            errors.append(MappingError(str(path), "", "", "no such file or folder"))
    unique = {p.resolve(): p for p in reversed(found)}  # keeps the first spelling of each
    return [p for p in found if unique.get(p.resolve()) is p], errors


def check(paths: Iterable[Path | str]) -> CheckResult:
    """Validate everything and report every problem; the mapping set only when there are none."""
    files, missing = mapping_files(paths)
    parts = _Parts(files=files)
    errors = _Errors()
    for error in missing:
        errors.add(error)
    for path in files:
        _read_file(path, parts, errors)
    for seq, error in _cross_file_errors(parts):
        errors.add(error, seq)
    if errors:
        return CheckResult(files, None, errors.sorted())
    mappings = MappingSet(
        catalog=tuple(entry for entry, _ in parts.catalog),
        gl=tuple(rule for rule, _ in parts.gl),
        gl_default=parts.gl_default[0] if parts.gl_default else None,
        plans=tuple(plan for plan, _ in parts.plans),
        defaults=parts.defaults[0] if parts.defaults else Defaults(),
    )
    return CheckResult(files, mappings, [])


def load_mappings(paths: Iterable[Path | str]) -> MappingSet:
    """The checked mapping set; MappingInvalid listing every problem otherwise."""
    result = check(paths)
    if result.mappings is None:
        raise MappingInvalid(result.errors)
    return result.mappings


def _read_file(path: Path, parts: _Parts, errors: _Errors) -> None:
    name = str(path)
    errors.seq += 1
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        errors.add(MappingError(name, "", "", f"cannot be read: {exc.strerror or exc}"))
        return
    except UnicodeDecodeError:
        errors.add(MappingError(name, "", "", "is not UTF-8 text"))
        return
    except tomllib.TOMLDecodeError as exc:
        errors.add(MappingError(name, "", "", f"is not valid TOML: {exc}"))
        return
    for key in data:
        if key not in SECTIONS:
            errors.add(
                MappingError(name, key, "", f"unknown section; allowed: {', '.join(SECTIONS)}")
            )
    for i, raw in enumerate(_array(data, "catalog", name, errors), 1):
        label = f"catalog #{i}" + _describe(raw, "platform", "item_id")
        errors.seq += 1
        entry = _validate(CatalogEntry, raw, name, label, errors)
        if entry is not None:
            parts.catalog.append((entry, Origin(name, label, errors.seq)))
    for i, raw in enumerate(_array(data, "gl", name, errors), 1):
        label = f"gl #{i}" + _describe(raw, "currency", "entity")
        errors.seq += 1
        rule = _validate(GLRule, raw, name, label, errors)
        if rule is not None:
            parts.gl.append((rule, Origin(name, label, errors.seq)))
    if "gl_default" in data:
        errors.seq += 1
        accounts = _validate(GLDefault, data["gl_default"], name, "gl_default", errors)
        if accounts is not None:
            if parts.gl_default is not None:
                errors.add(_again(name, "gl_default", parts.gl_default[1]))
            else:
                parts.gl_default = (accounts, Origin(name, "gl_default", errors.seq))
    plans = data.get("plans", {})
    if not isinstance(plans, dict):
        errors.add(MappingError(name, "plans", "", "must be tables such as [plans.standard]"))
        plans = {}
    for plan_name, raw in plans.items():
        label = f"plans.{plan_name}"
        errors.seq += 1
        body = _validate(PlanBody, raw, name, label, errors)
        if body is not None:
            plan = Plan(name=plan_name, **dict(body))
            parts.plans.append((plan, Origin(name, label, errors.seq)))
    if "defaults" in data:
        errors.seq += 1
        defaults = _validate(Defaults, data["defaults"], name, "defaults", errors)
        if defaults is not None:
            if parts.defaults is not None:
                errors.add(_again(name, "defaults", parts.defaults[1]))
            else:
                parts.defaults = (defaults, Origin(name, "defaults", errors.seq))


def _again(file: str, section: str, first: Origin) -> MappingError:
    return MappingError(
        file, section, "", f"already set in {first.file}; keep one [{section}] table"
    )


def _array(data: dict[str, Any], key: str, file: str, errors: _Errors) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        errors.add(MappingError(file, key, "", f"must be [[{key}]] tables"))
        return []
    return value


def _describe(raw: Any, *keys: str) -> str:
    if not isinstance(raw, dict):
        return ""
    shown = [str(raw[k]) for k in keys if isinstance(raw.get(k), str | int)]
    return f" ({':'.join(shown)})" if shown else ""


def _validate(model: type[M], raw: Any, file: str, label: str, errors: _Errors) -> M | None:
    if not isinstance(raw, dict):
        errors.add(MappingError(file, label, "", "must be a table"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"])
            errors.add(MappingError(file, label, loc, _message(model, error)))
        return None


def _message(model: type[BaseModel], error: Any) -> str:
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = ", ".join(model.model_fields) if len(error["loc"]) == 1 else ""
        return "unknown field" + (f"; allowed: {allowed}" if allowed else "; check the spelling")
    if kind == "missing":
        return "is required"
    if kind != "value_error" and not isinstance(error.get("input"), dict):
        message += f", got {error['input']!r}"
    return message


def _cross_file_errors(parts: _Parts) -> list[tuple[int, MappingError]]:
    sections: dict[str, list[Origin]] = {
        "catalog": [origin for _, origin in parts.catalog],
        "gl": [origin for _, origin in parts.gl],
        "plans": [origin for _, origin in parts.plans],
        "gl_default": [parts.gl_default[1]] if parts.gl_default else [],
        "defaults": [parts.defaults[1]] if parts.defaults else [],
    }
    problems = consistency_problems(
        [entry for entry, _ in parts.catalog],
        [rule for rule, _ in parts.gl],
        parts.gl_default[0] if parts.gl_default else None,
        [plan for plan, _ in parts.plans],
        parts.defaults[0] if parts.defaults else Defaults(),
    )
    errors: list[tuple[int, MappingError]] = []
    for problem in problems:
        origin = sections[problem.section][problem.index]
        message = problem.message
        if problem.first is not None:
            first = sections[problem.first[0]][problem.first[1]]
            message += f", first defined in {first.file} {first.label}"
        errors.append((origin.seq, MappingError(origin.file, origin.label, problem.field, message)))
    return errors
