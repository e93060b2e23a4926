"""Reconciliation: what each journal sink holds against what creditsync produced, the repair of
the differences (always by further entries, never by deleting), and the tie-out of the posted
general ledger to the pools."""
