"""Write sdk_reference.json: the field names, JSON types and required flags of the zuora-sdk
models the Zuora fixtures imitate.

zuora-sdk 3.21.0 pins ``urllib3<2.1`` and ``certifi~=2023.11.17``; installed beside creditsync it
would downgrade the CA bundle httpx verifies with. So it is not a dependency: run this script with
the SDK in a throwaway virtualenv and check the JSON in, and test_zuora_payload_shapes.py checks
every fixture against it::

    python3 -m venv /tmp/zsdk && /tmp/zsdk/bin/pip install zuora-sdk==3.21.0
    /tmp/zsdk/bin/python tests/zuora/extract_sdk_reference.py
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import types
import typing
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

MODELS = (
    "ExpandedAccount",
    "ExpandedContact",
    "ExpandedCreditMemo",
    "ExpandedCreditMemoItem",
    "ExpandedInvoice",
    "ExpandedInvoiceItem",
    "ExpandedPayment",
    "ExpandedPaymentApplication",
    "ExpandedCreditMemoApplication",
    "ExpandedRefund",
    "ExpandedRefundApplication",
    "ExpandedUsage",
    "ExpandedProductRatePlanChargeTier",
    "QueryProductRatePlanChargeTiersResponse",
    "QueryInvoicesResponse",
    "QueryCreditMemosResponse",
    "QueryRefundsResponse",
    "QueryRefundApplicationsResponse",
    "QueryPaymentsResponse",
    "QueryUsagesResponse",
    "TokenResponse",
    "CommonResponse",
    "FailedReason",
    "CreateUsageRequest",
    "ProxyCreateOrModifyResponse",
    "CreateInvoiceRequest",
    "CreateInvoiceItem",
    "InvoiceResponse",
    "CreatePaymentRequest",
    "CreatePaymentInvoiceApplication",
    "CreateJournalEntryRequest",
    "CreateJournalEntryRequestItem",
    "CreateJournalEntryResponse",
    "GetJournalEntryDetailResponse",
    "GetJournalEntryItemResponse",
    "SubmitDataQueryRequest",
    "SubmitDataQueryRequestOutput",
    "SubmitDataQueryResponse",
    "GetDataQueryJobResponse",
    "DataQueryJob",
)

OUT = Path(__file__).with_name("sdk_reference.json")


def json_type(annotation: Any) -> str:
    """The JSON shape of a field: string, number, integer, boolean, date, date-time,
    object:<Model>, array:<shape>; optional wrappers and constraints are peeled off."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return json_type(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds = sorted({json_type(a) for a in args if a is not type(None)})
        if kinds == ["integer", "number"]:
            return "number"
        if len(kinds) == 1:
            return kinds[0]
        if "string" in kinds:  # Union[bytes, str] and the like
            return "string"
        return "|".join(kinds)
    if origin in (list, typing.List):  # noqa: UP006
        return f"array:{json_type(args[0])}"
    if origin in (dict, typing.Dict):  # noqa: UP006
        return "object"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation in (float, decimal.Decimal):
        return "number"
    if annotation in (str, bytes):
        return "string"
    if annotation is datetime.datetime:
        return "date-time"
    if annotation is datetime.date:
        return "date"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "string"
    if isinstance(annotation, type):
        return f"object:{annotation.__name__}"
    text = getattr(annotation, "__forward_arg__", None) or str(annotation)
    return f"object:{text}"


def enum_values(annotation: Any) -> list[str]:
    """The allowed values when a field is (an optional) enum of the SDK."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return sorted(str(member.value) for member in candidate)
    return []


def describe(name: str) -> dict[str, Any]:
    models = import_module("zuora_sdk.models")
    cls = getattr(models, name)
    fields: dict[str, Any] = {}
    for field_name, info in cls.model_fields.items():
        if field_name == "additional_properties":
            continue
        alias = info.alias or field_name
        spec: dict[str, Any] = {"type": json_type(info.annotation), "required": info.is_required()}
        values = enum_values(info.annotation)
        if values:
            spec["enum"] = values
        fields[alias] = spec
    return fields


def main() -> None:
    reference = {
        "sdk": f"zuora-sdk {metadata.version('zuora-sdk')}",
        "models": {name: describe(name) for name in MODELS},
    }
    OUT.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(MODELS)} models)")


if __name__ == "__main__":
    main()
