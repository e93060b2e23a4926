"""Turning a connection's raw settings into an adapter's validated model, one line per mistake.

A connection's settings arrive as a plain mapping (TOML, the environment, the database). Every
adapter validates them with a pydantic model; this helper reports every problem at once as an
:class:`InvalidInput` naming the keys and the fixes, and never echoes a value (a mistyped key next
to an API key must not print the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, SecretStr, ValidationError

from connector.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def load_adapter_settings(
    model: type[M], raw: Mapping[str, Any] | M, fixes: Mapping[str, str]
) -> M:
    """Validate ``raw`` as ``model``; ``fixes`` says, per key, what to write instead."""
    if isinstance(raw, model):
        return raw
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        fields: list[str] = []
        problems: list[str] = []
        advice: list[str] = []
        for error in errors:
            name = str(error["loc"][0]) if error["loc"] else "settings"
            fields.append(name)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if len(errors) > 1 else message)
            fix = fixes.get(name) or (
                f"remove it; known keys: {', '.join(model.model_fields)}"
                if error["type"] == "extra_forbidden"
                else ""
            )
            if fix and fix not in advice:
                advice.append(fix)
        raise InvalidInput(
            ", ".join(dict.fromkeys(fields)), "; ".join(problems), "; ".join(advice)
        ) from None


def _date_or_instant(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("has no timezone")
    return value.astimezone(UTC)


BackfillFrom = Annotated[datetime, BeforeValidator(_date_or_instant), AfterValidator(_aware_utc)]
"""A ``backfill_from`` setting: an ISO date (midnight UTC) or an aware instant, kept in UTC."""


def _one_or_many(value: Any) -> Any:
    return (value,) if isinstance(value, str | SecretStr) else value


OneOrMany = BeforeValidator(_one_or_many)
"""A list setting that also takes one value alone (``secret = "x"`` as well as ``["x", "y"]``)."""


def require_setting(
    settings: BaseModel, field: str, purpose: str, fixes: Mapping[str, str]
) -> None:
    """Refuse a connection that lacks what ``purpose`` needs, naming the missing key."""
    value = getattr(settings, field)
    if value is None or value == ():
        raise InvalidInput(field, f"is required for {purpose}", fixes.get(field, ""))
