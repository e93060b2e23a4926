"""Revenue recognition: what each pool's money has become (revenue, breakage, refunded, deferred).

Pure accounting over exact rationals: ``terms``, ``segment``, ``refund``, ``state`` (a pool's
money event by event), ``stream`` (ledger entries as money events), ``periods``, ``deltas``
(targets minus posted), ``entries`` (journal entries and their ids), ``compute`` (one pool, one
run). At the edges: ``refunds`` (refunds and voids applied to the store), ``closing`` (periods),
``run`` (``recognize``), ``subledger`` (pools recomputed for reports), ``links`` (entry -> pools),
``loader`` and ``control`` (reads, watermarks, serialization). ACCOUNTING.md is the specification.
"""
