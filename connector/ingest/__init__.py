"""From canonical events to ledger changes: the pure mapping step and, around it, its callers."""
