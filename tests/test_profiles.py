"""Updating one's profile: bio, avatar, location and links."""

from __future__ import annotations

from typing import Any

import pytest

from support.accounts import Session, register
from support.graphql import GraphQLClient, codes, data, top_level_code

PROFILE_FIELDS = "profile { bio avatarUrl location links } errors { code message field }"
UPDATE_PROFILE = f"""
mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ {PROFILE_FIELDS} }} }}"""
USER_PROFILE = """
query($handle: String!) { user(handle: $handle) { profile { bio avatarUrl location links } } }"""
FULL = {
    "bio": "Writes about databases.",
    "avatarUrl": "https://img.example.com/me.png",
    "location": "Lisbon",
    "links": ["https://blog.example.com", "http://example.org/about"],
}


async def update_profile(gql: GraphQLClient, user: Session, **fields: Any) -> dict[str, Any]:
    return (await data(gql, UPDATE_PROFILE, {"input": fields}, user.token))["updateProfile"]


async def public_profile(gql: GraphQLClient, user: Session) -> dict[str, Any]:
    return (await data(gql, USER_PROFILE, {"handle": user.handle}))["user"]["profile"]


async def test_update_profile(gql: GraphQLClient) -> None:
    user = await register(gql)
    payload = await update_profile(gql, user, **FULL)
    assert payload == {"profile": FULL, "errors": []}
    assert await public_profile(gql, user) == FULL

    # Omitted fields stay as they are.
    payload = await update_profile(gql, user, bio="New bio")
    assert payload["errors"] == []
    assert payload["profile"] == {**FULL, "bio": "New bio"}
    assert await public_profile(gql, user) == {**FULL, "bio": "New bio"}

    # "" clears the avatar and the location.
    payload = await update_profile(gql, user, avatarUrl="", location="")
    expected = {**FULL, "bio": "New bio", "avatarUrl": None, "location": None}
    assert payload == {"profile": expected, "errors": []}
    assert await public_profile(gql, user) == expected

    # Invalid input changes nothing (more kinds of it below).
    bad_link = await update_profile(
        gql, user, links=["https://fine.example.com", "mailto:me@example.com"]
    )
    assert bad_link["profile"] is None and codes(bad_link) == ["INVALID_URL"]
    assert await public_profile(gql, user) == expected

    anonymous = await gql(UPDATE_PROFILE, {"input": {"bio": "anon"}})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    # The viewer sees the same profile.
    viewer = await data(
        gql, "{ viewer { profile { bio avatarUrl location links } } }", token=user.token
    )
    assert viewer["viewer"]["profile"] == expected


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"avatarUrl": "not a url"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"avatarUrl": "javascript:alert(1)"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"avatarUrl": "ftp://files.example.com/a.png"}, "INVALID_URL", ["input", "avatarUrl"]),
        ({"bio": "x" * 5_000}, "TOO_LONG", ["input", "bio"]),
    ],
    ids=["avatar not a url", "javascript avatar", "ftp avatar", "long bio"],
)
async def test_invalid_profile_input_changes_nothing(
    gql: GraphQLClient, fields: dict[str, Any], code: str, field: list[str]
) -> None:
    user = await register(gql)
    assert (await update_profile(gql, user, **FULL))["errors"] == []

    refused = await update_profile(gql, user, **fields, location="Porto")
    assert refused["profile"] is None, fields
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)], fields
    assert refused["errors"][0]["message"]
    assert await public_profile(gql, user) == FULL
