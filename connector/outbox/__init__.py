"""The posting outbox: journal entries wait per sink until the sink has them.

pending -> posted (with the sink's own id) | failed (after retries, with the error) | blocked
(the book refuses it until a person acts, e.g. a closed period there, with the book's message)
-> redated (re-posted into an open period under a derived id, by an explicit command). The entry
id is the idempotency key every sink honours, so posting an entry twice (a crash between "sent"
and "marked posted", two drains at once) leaves one entry in the sink.
"""
