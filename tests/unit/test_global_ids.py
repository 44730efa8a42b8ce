"""Relay global IDs (schema/global_ids.py): opaque, typed, and refused when doctored."""

from __future__ import annotations

import base64

import pytest

from resolvers.errors import BadUserInput
from schema.global_ids import from_global_id, int_key, object_key, to_global_id

OBJECT_ID = "65f0c0ffee0123456789abcd"


def raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_row_ids_round_trip() -> None:
    global_id = to_global_id("Post", 42)
    assert "Post" not in global_id and "=" not in global_id  # opaque, unpadded
    assert from_global_id(global_id) == ("Post", "42")
    assert int_key(global_id, "Post") == 42


def test_document_ids_round_trip() -> None:
    global_id = to_global_id("Comment", OBJECT_ID)
    assert object_key(global_id, "Comment") == OBJECT_ID


def test_ids_of_different_types_differ() -> None:
    assert to_global_id("Post", 1) != to_global_id("User", 1)


def test_an_id_of_another_type_is_refused() -> None:
    with pytest.raises(BadUserInput, match="invalid Post ID"):
        int_key(to_global_id("User", 7), "Post")
    with pytest.raises(BadUserInput, match="invalid Comment ID"):
        object_key(to_global_id("Notification", OBJECT_ID), "Comment")


@pytest.mark.parametrize(
    "global_id",
    [
        "",
        "!!!not base64!!!",
        raw_id("no colon"),
        raw_id(":42"),
        raw_id("Post:"),
        base64.urlsafe_b64encode(b"\xff\xfe:\x00").decode(),  # not UTF-8
    ],
)
def test_malformed_ids_are_refused(global_id: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        from_global_id(global_id)
    assert refused.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize("key", ["0", "-1", "abc", "1.5", "01", "9" * 19, " 1"])
def test_row_keys_must_be_positive_integers_that_fit(key: str) -> None:
    with pytest.raises(BadUserInput):
        int_key(raw_id(f"Post:{key}"), "Post")


@pytest.mark.parametrize("key", ["42", OBJECT_ID.upper(), OBJECT_ID[:-1], OBJECT_ID + "0"])
def test_document_keys_must_be_24_hex_digits(key: str) -> None:
    with pytest.raises(BadUserInput):
        object_key(raw_id(f"Comment:{key}"), "Comment")


def test_the_refusal_does_not_echo_a_huge_id() -> None:
    with pytest.raises(BadUserInput) as refused:
        from_global_id("!" * 10_000)
    assert len(refused.value.message) < 200
