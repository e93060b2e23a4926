"""Comparing one period's read-back from a sink with what creditsync expects there (pure).

Each posting the sink holds is matched to the entry it carries the id of. Postings already
reversed by a repair take no further part; an entry that was re-posted under a derived id is
expected through its re-post, so the two never count as a pair of duplicates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from connector.journal import JournalEntry, JournalLine, PostedEntry
from connector.reconcile.model import Difference, DifferenceKind

ORDER = list(DifferenceKind)


def line_set(lines: Sequence[JournalLine]) -> Counter[tuple[str, int, int]]:
    """Lines as a multiset of (account, debit, credit): order and memos do not matter."""
    return Counter((line.account, line.debit, line.credit) for line in lines)


def account_set(lines: Sequence[JournalLine]) -> Counter[tuple[str, str]]:
    return Counter((line.account, "Dr" if line.debit else "Cr") for line in lines)


def same_content(entry: JournalEntry, posting: PostedEntry) -> bool:
    return entry.currency == posting.currency and line_set(entry.lines) == line_set(posting.lines)


def _mismatch(entry: JournalEntry, posting: PostedEntry) -> tuple[DifferenceKind, str]:
    if entry.currency != posting.currency:
        return DifferenceKind.AMOUNT_DIFFERS, f"posted in {posting.currency}"
    if account_set(entry.lines) == account_set(posting.lines):
        return DifferenceKind.AMOUNT_DIFFERS, "same accounts, other amounts"
    return DifferenceKind.ACCOUNT_DIFFERS, "posted to other accounts"


def compare(
    sink: str,
    period: str,
    postings: Sequence[PostedEntry],
    expected: Mapping[str, JournalEntry],
    known: Mapping[str, JournalEntry],
    reversed_postings: Collection[tuple[str, str]],
    replaced: Mapping[str, str],
) -> list[Difference]:
    """Differences between ``postings`` (the sink's read-back of ``period``) and ``expected``.

    ``known``: every entry of creditsync's that a posting here carries the id of (any period);
    ``reversed_postings``: (entry id or "", sink id) of postings a repair has reversed;
    ``replaced``: entry id -> the id of its re-post.
    """
    found: list[Difference] = []
    candidates: dict[str, list[PostedEntry]] = {}

    def add(
        kind: DifferenceKind,
        entry_id: str | None,
        entry: JournalEntry | None,
        posting: PostedEntry | None,
        detail: str,
    ) -> None:
        found.append(Difference(kind, sink, period, entry_id, entry, posting, detail))

    for posting in postings:
        if (posting.entry_id or "", posting.sink_id) in reversed_postings:
            continue
        entry_id = posting.entry_id
        ours = known.get(entry_id) if entry_id is not None else None
        if ours is None:
            what = "not an entry creditsync produced" if entry_id else "posted without entry id"
            add(DifferenceKind.UNKNOWN, entry_id, None, posting, what)
        elif ours.id in expected:
            candidates.setdefault(ours.id, []).append(posting)
        elif ours.period != period:
            add(
                DifferenceKind.WRONG_PERIOD,
                ours.id,
                ours,
                posting,
                f"belongs to {ours.period}, posted in {period}",
            )
        else:
            add(
                DifferenceKind.DUPLICATE,
                ours.id,
                ours,
                posting,
                f"re-posted as {replaced.get(ours.id, 'another entry')}; this posting stands",
            )
    for entry in expected.values():
        held = candidates.get(entry.id, [])
        if not held:
            add(DifferenceKind.MISSING, entry.id, entry, None, "not in the sink")
            continue
        keep = next((p for p in held if same_content(entry, p)), None)
        if keep is None:
            keep = held[0]
            kind, detail = _mismatch(entry, keep)
            add(kind, entry.id, entry, keep, detail)
        for extra in held:
            if extra is not keep:
                add(
                    DifferenceKind.DUPLICATE,
                    entry.id,
                    entry,
                    extra,
                    f"also posted as {keep.sink_id}",
                )
    found.sort(key=lambda d: (ORDER.index(d.kind), d.entry_id or "", d.sink_id or ""))
    return found
