"""Properties of the double's pure wire rules: pagination, byte ranges, delimiter grouping."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lakeflow.testing.lakefs.wire import ApiError, group_by_delimiter, paginate, parse_range

_keys = st.lists(st.text("abc/", min_size=1, max_size=6), unique=True).map(sorted)


@given(keys=_keys, amount=st.integers(1, 5))
@example(keys=[], amount=1)
def test_paging_with_after_visits_every_item_once(keys: list[str], amount: int) -> None:
    """Following ``next_offset`` page by page yields every item once, in order, and only the
    last page says ``has_more: false``."""
    seen: list[str] = []
    after = ""
    while True:
        page, pagination = paginate(keys, key=str, after=after, amount=amount)
        assert pagination["results"] == len(page) <= amount
        assert pagination["max_per_page"] == 1000
        seen.extend(page)
        if not pagination["has_more"]:
            assert pagination["next_offset"] == ""
            break
        after = str(pagination["next_offset"])
        assert after == page[-1]
    assert seen == keys


@given(size=st.integers(0, 300), start=st.integers(0, 400), length=st.integers(0, 400))
def test_ranges_stay_inside_the_object(size: int, start: int, length: int) -> None:
    """A satisfiable range lies inside the object; one starting at or past the end is 416."""
    header = f"bytes={start}-{start + length}"
    if start >= size:
        with pytest.raises(ApiError) as caught:
            parse_range(header, size)
        assert caught.value.status == 416
        return
    first, last = parse_range(header, size)
    assert (first, last) == (start, min(start + length, size - 1))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("bytes=-3", (7, 9)), ("bytes=-30", (0, 9)), ("bytes=4-", (4, 9)), ("bytes=0-0", (0, 0))],
)
def test_suffix_and_open_ranges(header: str, expected: tuple[int, int]) -> None:
    """Suffix (``-n``) and open-ended (``a-``) ranges of a 10-byte object."""
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize(
    "header", ["bytes=-0", "bytes=5-2", "bytes=1-2,4-5", "lines=1-2", "bytes=-"]
)
def test_unsatisfiable_ranges(header: str) -> None:
    """Empty suffixes, reversed, multiple and non-byte ranges are 416."""
    with pytest.raises(ApiError):
        parse_range(header, 10)


@given(keys=_keys)
def test_grouping_covers_every_path_once(keys: list[str]) -> None:
    """With a delimiter, each path is listed itself or under exactly one common prefix, and
    the listing stays sorted without duplicates."""
    grouped = group_by_delimiter([(k, k) for k in keys], "", "/")
    paths = [p for p, _ in grouped]
    assert paths == sorted(set(paths))
    prefixes = [p for p, item in grouped if item is None]
    for key in keys:
        covering = [p for p in prefixes if key.startswith(p)]
        assert (key in paths and "/" not in key and not covering) or (
            "/" in key and len(covering) == 1
        )
