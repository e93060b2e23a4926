"""Revenue recognition: what each pool's money has become (revenue, breakage, refunded, deferred).

The accounting is pure functions over exact rationals (``terms``, ``segment``, ``refund``,
``state``, ``stream``, ``periods``, ``deltas``, ``entries``); the store-facing modules (``refunds``,
``closing``, ``run``, ``subledger``) read the ledger and write journal entries. ACCOUNTING.md is the
specification.
"""
