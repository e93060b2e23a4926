"""Check a JSON payload against the pinned SDK's typed classes, all the way down.

The SDK's classes are generated from Stripe's OpenAPI spec for the API version it pins; their
annotations say which fields exist, which are required (not ``Optional``), which values an enum
takes (``Literal[...]``) and what each nested or expanded object holds. The SDK widens every
enum with ``str`` so that a newer value does not break old code; for a fixture that widening is
exactly the drift to catch, so a ``Literal`` next to ``str`` is read as the closed set it
documents.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ForwardRef

from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject, UntypedStripeObject


@dataclass(frozen=True)
class Mismatch:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@functools.cache
def _imports_of(module_name: str) -> dict[str, tuple[str, str]]:
    """Name -> (module, class) of what a SDK module imports, ``as`` renames included: its
    forward references (imported only for type checking) name these."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    return {
        alias.asname or alias.name: (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stripe")
        for alias in node.names
    }


def _resolve(annotation: Any, module_name: str) -> Any:
    """A forward reference (``ExpandableField["Customer"]``) as the class its module means."""
    if isinstance(annotation, ForwardRef):
        annotation = annotation.__forward_arg__
    if not isinstance(annotation, str):
        return annotation
    home, name = _imports_of(module_name).get(annotation, (module_name, annotation))
    found = getattr(importlib.import_module(home), name, None)
    if found is None:  # never pass a field unchecked because its type could not be found
        raise LookupError(f"{module_name} names {annotation!r}, which the SDK does not define")
    return found


_SCALARS: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
    Decimal: (str,),  # Stripe sends decimals as strings ("1000.5"), never as JSON numbers
}


def _is_optional(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


def fields_of(cls: type[Any]) -> dict[str, tuple[Any, str]]:
    """The data fields a Stripe class declares (its own and its bases'): name -> (annotation,
    the module it was written in, which gives its forward references their meaning)."""
    fields: dict[str, tuple[Any, str]] = {}
    for klass in reversed(cls.__mro__):
        if klass is StripeObject or not issubclass(klass, StripeObject):
            continue
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if not name.startswith("_") and typing.get_origin(annotation) is not typing.ClassVar:
                fields[name] = (annotation, klass.__module__)
    return fields


def required_of(cls: type[Any]) -> set[str]:
    return {
        name for name, (annotation, _) in fields_of(cls).items() if not _is_optional(annotation)
    }


def check(value: Any, annotation: Any, path: str = "$", module: str = "stripe") -> list[Mismatch]:
    """Every way ``value`` departs from ``annotation``; empty when it matches."""
    annotation = _resolve(annotation, module)
    if annotation is Any:
        return []
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _check_union(value, args, path, module)
    if origin is typing.Literal:
        return [] if value in args else [Mismatch(path, f"{value!r} is not one of {args}")]
    if origin is list:
        if not isinstance(value, list):
            return [Mismatch(path, f"expected a list, got {type(value).__name__}")]
        return [m for i, v in enumerate(value) for m in check(v, args[0], f"{path}[{i}]", module)]
    if origin is dict or origin is UntypedStripeObject or annotation is UntypedStripeObject:
        ok = isinstance(value, dict)
        return [] if ok else [Mismatch(path, f"expected an object, got {type(value).__name__}")]
    if origin is ListObject or annotation is ListObject:
        return _check_list_object(value, args[0] if args else Any, path, module)
    if isinstance(annotation, type) and issubclass(annotation, StripeObject):
        return _check_object(value, annotation, path)
    return _check_scalar(value, annotation, path)


def _check_union(value: Any, options: tuple[Any, ...], path: str, module: str) -> list[Mismatch]:
    if value is None:
        if type(None) in options:
            return []
        return [Mismatch(path, "is null, but the field is not nullable")]
    options = tuple(o for o in options if o is not type(None))
    enums = [o for o in options if typing.get_origin(o) is typing.Literal]
    if enums:  # Literal[...] | str: the literal is the enum, str only its forward compatibility
        options = tuple(o for o in options if o is not str)
    if isinstance(value, dict):  # an expanded object: judge it as the object, not as an id
        options = tuple(o for o in options if o not in _SCALARS) or options
    outcomes = [check(value, option, path, module) for option in options]
    if any(not found for found in outcomes):
        return []
    return min(outcomes, key=len)  # the branch the value came closest to


def _check_list_object(value: Any, item: Any, path: str, module: str) -> list[Mismatch]:
    if not isinstance(value, dict) or value.get("object") != "list":
        return [Mismatch(path, "expected a list object ({'object': 'list', 'data': [...]})")]
    problems = _check_keys(value, {"object", "data", "has_more", "url"}, path)
    data = value.get("data")
    if not isinstance(data, list):
        return [*problems, Mismatch(f"{path}.data", "expected a list")]
    return problems + [
        m for i, v in enumerate(data) for m in check(v, item, f"{path}.data[{i}]", module)
    ]


def _check_keys(value: dict[str, Any], required: set[str], path: str) -> list[Mismatch]:
    missing = sorted(required - set(value))
    return [Mismatch(f"{path}.{name}", "required field left out") for name in missing]


def _check_object(value: Any, cls: type[Any], path: str) -> list[Mismatch]:
    if not isinstance(value, dict):
        return [Mismatch(path, f"expected a {cls.__name__} object, got {type(value).__name__}")]
    fields = fields_of(cls)
    problems = [
        Mismatch(f"{path}.{name}", f"{cls.__name__} has no such field in this API version")
        for name in sorted(set(value) - set(fields))
    ]
    problems.extend(_check_keys(value, required_of(cls), path))
    expected_object = getattr(cls, "OBJECT_NAME", None)
    if isinstance(expected_object, str) and value.get("object") not in (None, expected_object):
        problems.append(Mismatch(f"{path}.object", f"expected {expected_object!r}"))
    for name, field_value in value.items():
        if name in fields:
            annotation, module = fields[name]
            problems.extend(check(field_value, annotation, f"{path}.{name}", module))
    return problems


def _check_scalar(value: Any, annotation: Any, path: str) -> list[Mismatch]:
    accepted = _SCALARS.get(annotation)
    if accepted is None:  # never pass a field unchecked because its type is not understood
        raise TypeError(f"{path}: no rule for the SDK type {annotation!r}")
    if isinstance(value, bool) and bool not in accepted:
        return [Mismatch(path, f"expected {annotation.__name__}, got a boolean")]
    if not isinstance(value, accepted):
        return [Mismatch(path, f"expected {annotation.__name__}, got {type(value).__name__}")]
    if annotation is Decimal:
        try:
            Decimal(str(value))
        except InvalidOperation:
            return [Mismatch(path, f"{value!r} is not a decimal string")]
    return []
