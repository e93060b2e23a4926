"""creditsync: prepaid AI credits between billing platforms, a credit ledger and the books."""
