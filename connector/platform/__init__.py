"""Shapes every platform adapter shares, configured by each adapter.

Adapters talk to very different APIs, but the way a sync engine must treat them is the same:
bounded retries that honour the platform's own back-off advice (:mod:`.retry`), settings that
fail with one clear line per mistake (:mod:`.settings`), an incremental cursor over several
listings with an overlap window that survives a crash at any page (:mod:`.cursor`), and webhook
endpoints protected by shared credentials compared in constant time (:mod:`.basic_auth`). What is
truly platform-specific (which status codes mean "try again", which listings exist, how a page
token looks) stays in the adapter and is passed in.
"""
