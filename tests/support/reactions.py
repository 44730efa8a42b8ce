"""Reactions to posts through the API: the documents, reacting (which must succeed), and a
post's counts by kind."""

from __future__ import annotations

from typing import Any

from support.accounts import Session
from support.graphql import GraphQLClient, succeeded

REACTION_PAYLOAD = """
  post { id reactions { kind count } viewerReactions } errors { code message field }
"""
REACT = f"""
mutation($postId: ID!, $kind: ReactionKind!) {{
  react(postId: $postId, kind: $kind) {{ {REACTION_PAYLOAD} }}
}}"""
UNREACT = f"""
mutation($postId: ID!, $kind: ReactionKind!) {{
  unreact(postId: $postId, kind: $kind) {{ {REACTION_PAYLOAD} }}
}}"""
REACTIONS = "query($id: ID!) { post(id: $id) { reactions { kind count } viewerReactions } }"


async def react(gql: GraphQLClient, who: Session, post_id: str, kind: str) -> dict[str, Any]:
    return await succeeded(gql, REACT, {"postId": post_id, "kind": kind}, who, "react")


def reaction_counts(post: dict[str, Any]) -> dict[str, int]:
    counts = {r["kind"]: r["count"] for r in post["reactions"]}
    assert len(counts) == len(post["reactions"]), post  # one entry per kind
    return counts
