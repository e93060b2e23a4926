"""Names of Stripe objects to read again: ``"<object type>:<id>"``, e.g. ``"dispute:dp_123"``.

A webhook hint says which object to re-read; the object's type comes from the object itself
(its ``object`` field), never from the id's prefix: Stripe issues dispute ids as ``du_...`` and
``dp_...`` alike and may add prefixes at any time. A bare id (a hint stored before types were
written) is still understood for the prefixes Stripe has documented for each type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import InvalidInput

# object type -> the path it is retrieved at (a charge is read through its refunds' listing)
PATHS: dict[str, str] = {
    "invoice": "/v1/invoices",
    "checkout.session": "/v1/checkout/sessions",
    "credit_note": "/v1/credit_notes",
    "refund": "/v1/refunds",
    "charge": "/v1/charges",
    "dispute": "/v1/disputes",
}

# bare ids, for hints stored before they carried their type
_PREFIXES: dict[str, str] = {
    "in_": "invoice",
    "cs_": "checkout.session",
    "cn_": "credit_note",
    "re_": "refund",
    "pyr_": "refund",
    "ch_": "charge",
    "py_": "charge",
    "du_": "dispute",
    "dp_": "dispute",
}


_ID = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class ObjectRef:
    type: str  # Stripe's ``object`` value: "invoice", "checkout.session", "dispute", ...
    id: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """The reference of an object Stripe sent, checked like a hint."""
        return parse_hint(f"{obj.get('object')}:{obj.get('id')}")

    @property
    def path(self) -> str:
        return f"{PATHS[self.type]}/{self.id}"

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


def parse_hint(hint: str) -> ObjectRef:
    """``type:id`` or a bare id; InvalidInput naming the hint when neither can be read."""
    kind, _, object_id = hint.rpartition(":")
    if not kind:
        kind = next((t for prefix, t in _PREFIXES.items() if object_id.startswith(prefix)), "")
    if kind not in PATHS or not _ID.fullmatch(object_id) or object_id == "None":
        raise InvalidInput(
            "object_ids",
            f"{hint!r} is not a Stripe object the source reads",
            f"give 'type:id' with a type among {', '.join(PATHS)} (e.g. 'dispute:dp_123')",
        )
    return ObjectRef(kind, object_id)
