"""How recognition finds GL account codes without depending on the mapping package."""

from __future__ import annotations

from collections.abc import Callable

from mappings.gl import GLAccounts

# (mapping_version, currency, entity) -> the accounts a pool posts to
GLResolver = Callable[[str | None, str, str | None], GLAccounts]


def fixed(accounts: GLAccounts) -> GLResolver:
    """One chart of accounts for every pool (tests, single-entity setups)."""

    def resolve(_version: str | None, _currency: str, _entity: str | None) -> GLAccounts:
        return accounts

    return resolve


def cached(resolver: GLResolver) -> GLResolver:
    """Resolve each (version, currency, entity) once per run."""
    memo: dict[tuple[str | None, str, str | None], GLAccounts] = {}

    def resolve(version: str | None, currency: str, entity: str | None) -> GLAccounts:
        key = (version, currency, entity)
        if key not in memo:
            memo[key] = resolver(version, currency, entity)
        return memo[key]

    return resolve
