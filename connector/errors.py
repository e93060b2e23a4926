"""Errors a caller can act on.

Every refusal names the field at fault and what to do about it, so that an operator reading a log
line or an API answer never has to open the source to know how to fix the input.
"""

from __future__ import annotations


class CreditsyncError(Exception):
    """Base class: something the caller asked for could not be done, and nothing was changed."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CreditsyncError):
    """A field has a value creditsync cannot accept."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        text = f"{field}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class NotFound(CreditsyncError):
    code = "not_found"


class Conflict(CreditsyncError):
    """The same idempotency key was reused with different content."""

    code = "idempotency_conflict"


class InsufficientCredits(CreditsyncError):
    """A burn asked for more credits than the account holds and its policy is a hard limit."""

    code = "insufficient_credits"

    def __init__(self, account_id: str, requested: int, available: int) -> None:
        self.account_id = account_id
        self.requested = requested
        self.available = available
        super().__init__(
            f"account {account_id!r} has {available} credits available, "
            f"the burn needs {requested}; nothing was burned"
        )


class PeriodClosed(CreditsyncError):
    code = "period_closed"
