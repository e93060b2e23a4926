"""HTTP basic auth for webhook endpoints of platforms that sign nothing (Chargebee, Zuora).

Such platforms prove who they are only by credentials configured on the endpoint URL. Several
credentials may be valid at once (a rotation in progress); each is compared in constant time, and
every candidate is compared whatever the outcome, so timing never tells which part was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence

from pydantic import SecretStr

from connector.platform.retry import header


def credentials_of(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The (user, password) of a Basic ``Authorization`` header; None when absent or malformed."""
    value = header(headers, "Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authorized(headers: Mapping[str, str], accepted: Sequence[tuple[str, SecretStr]]) -> bool:
    """True when the request carries one of ``accepted`` (user, password) pairs."""
    given = credentials_of(headers)
    if given is None or not accepted:
        return False
    user, password = given[0].encode(), given[1].encode()
    matched = False
    for expected_user, expected_password in accepted:
        same_user = hmac.compare_digest(user, expected_user.encode())
        same_password = hmac.compare_digest(password, expected_password.get_secret_value().encode())
        matched |= same_user and same_password
    return matched
