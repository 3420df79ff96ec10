"""Batching of the loader's pages: no lookahead batch, the unit's end always a last batch."""

from __future__ import annotations

from sendgrid_elt.load_batches import plain_batches, prefetched_batches, prepare_batch


def _page(start: int, n: int) -> tuple[list, list]:
    return [("", "", f"k{i}", b"{}", "h", i) for i in range(start, start + n)], []


def test_full_batch_is_handed_on_before_the_next_page_is_read() -> None:
    read: list[int] = []

    def pages():
        for i in range(4):
            read.append(i)
            yield _page(i * 3, 3)

    out = plain_batches(pages(), 6)
    rows, _, last = next(out)
    assert (len(rows), last, read) == (6, False, [0, 1])  # no batch held back to peek
    assert [(len(r), last) for r, _, last in out] == [(6, False), (0, True)]


def test_last_batch_holds_the_rest_or_nothing() -> None:
    pages = [_page(i, 1) for i in range(5)]  # batches are whole pages
    assert [(len(r), last) for r, _, last in plain_batches(pages, 2)] == [
        (2, False),
        (2, False),
        (1, True),
    ]
    assert [(len(r), last) for r, _, last in plain_batches(iter(()), 2)] == [(0, True)]


def test_prefetched_batches_end_with_one_last_batch() -> None:
    def prepare(rows, rejects):
        return prepare_batch(rows, rejects, prev=None, versioned=False, incremental=True)

    got = list(prefetched_batches((_page(i * 4, 4) for i in range(5)), 10, prepare))
    assert [(len(b.fresh), b.last) for b in got] == [(12, False), (8, True)]
    assert got[0].cursors == (11, 0, 11, True)
