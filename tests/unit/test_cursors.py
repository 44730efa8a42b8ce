"""Opaque cursors and page requests (resolvers/pagination.py)."""

from __future__ import annotations

import base64
import json

import pytest

from datasources.paging import Key, Page, PageRequest, page_from_rows
from resolvers.errors import BadUserInput
from resolvers.pagination import (
    MAX_CURSOR_LENGTH,
    Listing,
    decode_cursor,
    encode_cursor,
    page_request,
)
from schema.connections import connection

WHEN = "2024-05-01T12:30:00.123456+00:00"
OBJECT_ID = "65f0c0ffee0123456789abcd"


def doctored(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("listing", "key"),
    [
        ("posts", (WHEN, 7)),
        ("feed", (WHEN, 2**62)),
        ("user-posts", (WHEN, 1)),
        ("followers", (WHEN, 3)),
        ("comments", (WHEN, OBJECT_ID)),
        ("replies", (WHEN, OBJECT_ID)),
        ("notifications", (WHEN, OBJECT_ID)),
        ("users", ("ada_lovelace",)),
    ],
)
def test_cursors_round_trip(listing: str, key: tuple[object, ...]) -> None:
    cursor = encode_cursor(listing, key)
    assert "=" not in cursor and listing not in cursor  # opaque, unpadded
    assert decode_cursor(listing, cursor) == key


def test_a_cursor_of_one_listing_is_refused_by_another() -> None:
    cursor = encode_cursor("posts", (WHEN, 7))
    for other in ("feed", "user-posts", "followers", "following"):  # same key shape
        with pytest.raises(BadUserInput, match="invalid cursor for this list"):
            decode_cursor(other, cursor)
    with pytest.raises(BadUserInput):
        decode_cursor("comments", cursor)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        doctored("posts"),  # no key
        doctored("posts", WHEN),  # half a key
        doctored("posts", WHEN, 7, 8),  # too long a key
        doctored("posts", "yesterday", 7),  # not a timestamp
        doctored("posts", "2024-05-01T12:30:00", 7),  # no time zone
        doctored("posts", WHEN, 0),  # not a row id
        doctored("posts", WHEN, -5),
        doctored("posts", WHEN, 2**63),
        doctored("posts", WHEN, True),
        doctored("posts", WHEN, "7"),
        doctored("posts", WHEN, 7.0),
        base64.urlsafe_b64encode(json.dumps({"posts": 1}).encode()).decode(),
    ],
)
def test_doctored_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        decode_cursor("posts", cursor)
    assert refused.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("listing", "cursor"),
    [
        ("comments", doctored("comments", WHEN, OBJECT_ID.upper())),
        ("comments", doctored("comments", WHEN, 12)),
        ("users", doctored("users", "")),
        ("users", doctored("users", "x" * 31)),
    ],
)
def test_keys_of_the_wrong_shape_are_refused(listing: str, cursor: str) -> None:
    with pytest.raises(BadUserInput):
        decode_cursor(listing, cursor)


def test_oversized_cursors_are_refused_before_decoding() -> None:
    # A valid cursor, padded out with a long handle-shaped key, is still refused.
    huge = doctored("users", "a" * 30) + "A" * MAX_CURSOR_LENGTH
    with pytest.raises(BadUserInput) as refused:
        decode_cursor("users", huge)
    assert len(refused.value.message) < 200  # the cursor is not echoed whole


def test_page_request_defaults_and_bounds() -> None:
    assert page_request("posts", None, None).first == 20
    assert page_request("posts", 0, None).first == 0
    assert page_request("posts", 100, None).first == 100
    for first in (-1, 101, 10_000):
        with pytest.raises(BadUserInput) as refused:
            page_request("posts", first, None)
        assert refused.value.extensions == {"argument": "first"}


def test_page_request_decodes_its_cursor() -> None:
    request = page_request("posts", 5, encode_cursor("posts", (WHEN, 9)))
    assert (request.first, request.after) == (5, (WHEN, 9))
    assert page_request("posts", 5, None).after is None
    with pytest.raises(BadUserInput):
        page_request("posts", 5, encode_cursor("users", ("ada",)))


async def test_replacing_items_drops_missing_ones_with_their_cursors() -> None:
    async def total() -> int:
        return 3

    page = Listing(
        items=[1, 2, 3], cursors=["c1", "c2", "c3"], has_next=True, has_previous=False, total=total
    )
    replaced = page.replaced(["one", None, "three"])
    assert replaced.items == ["one", "three"]
    assert replaced.cursors == ["c1", "c3"]
    assert (replaced.has_next, replaced.has_previous) == (True, False)
    assert await replaced.total() == 3


async def _no_total() -> int:
    return 0


def _counted_page(size: int) -> tuple[Page[int], list[int]]:
    """A page of `size` rows whose key function records each row it is asked for."""
    asked: list[int] = []

    def key(row: int) -> Key:
        asked.append(row)
        return (WHEN, row)

    return page_from_rows(list(range(1, size + 2)), PageRequest(size), key), asked


def test_a_connection_encodes_only_the_cursors_read() -> None:
    page, asked = _counted_page(100)
    built = connection(Listing.of("posts", page, _no_total), str)
    # No cursor until one is read: not the page's start or end, not an edge's.
    assert asked == []
    assert built.page_info.end_cursor == encode_cursor("posts", (WHEN, 100))
    assert [edge.node for edge in built.edges[:2]] == ["1", "2"]
    assert sorted(asked) == [100]
    assert built.edges[41].cursor == encode_cursor("posts", (WHEN, 42))
    assert sorted(asked) == [42, 100]
    assert built.page_info.start_cursor == encode_cursor("posts", (WHEN, 1))
    assert sorted(asked) == [1, 42, 100]
    assert [edge.cursor for edge in built.edges] == [
        encode_cursor("posts", (WHEN, row)) for row in range(1, 101)
    ]


def test_replacing_items_keeps_each_kept_item_with_its_own_cursor() -> None:
    page, asked = _counted_page(4)
    listing = Listing.of("posts", page, _no_total).replaced(["a", None, None, "d"])
    assert asked == [1, 4]  # the dropped rows' keys are never made
    assert listing.items == ["a", "d"]
    assert list(listing.cursors) == [
        encode_cursor("posts", (WHEN, 1)),
        encode_cursor("posts", (WHEN, 4)),
    ]


def test_an_empty_connection_has_no_start_or_end_cursor() -> None:
    page, asked = _counted_page(0)
    built = connection(Listing.of("posts", page, _no_total), str)
    assert (built.page_info.start_cursor, built.page_info.end_cursor) == (None, None)
    assert (built.page_info.has_next_page, built.page_info.has_previous_page) == (True, False)
    assert asked == []
