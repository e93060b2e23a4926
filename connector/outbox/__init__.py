"""The posting outbox: journal entries wait per sink until the sink has them.

pending -> posted (with the sink's own id) | failed (after retries, with the error). The entry id
is the idempotency key every sink honours, so posting an entry twice (a crash between "sent" and
"marked posted", two drains at once) leaves one entry in the sink.
"""
