"""Input types of the API: text the database can store, instants within the calendar's range.

Checked while the request is validated, so a bad value is a 422 naming its field (``burns.2.
account_id``) before anything is read from or written to the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from connector.errors import InvalidInput
from connector.text import TEXT_FIX, text_problem
from connector.timeutil import require_aware


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError(
            "text_unstorable", "{problem}", {"problem": problem, "fix": TEXT_FIX}
        )
    return value


def _instant(value: datetime) -> datetime:
    try:
        return require_aware(value, "")
    except InvalidInput as exc:
        raise PydanticCustomError(
            "datetime_range", "{problem}", {"problem": exc.problem, "fix": exc.fix}
        ) from None


Text = Annotated[str, AfterValidator(_storable)]
Instant = Annotated[datetime, AfterValidator(_instant)]
