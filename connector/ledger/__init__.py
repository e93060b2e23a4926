"""The billing-agnostic credit ledger: accounts, pools, burn rates, burns, expiry, balances.

Functions in the modules take an open ``Connection`` so that callers can compose them into one
transaction; ``connector.ledger.service.Ledger`` wraps them for callers that want one call, one
transaction.
"""
