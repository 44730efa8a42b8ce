"""Follows through the API: the documents, following or unfollowing a user (which must
succeed), and the feed of the followed authors' posts."""

from __future__ import annotations

from support.accounts import Session
from support.graphql import PAGE_INFO, GraphQLClient, succeeded

FOLLOW = """
mutation($id: ID!) {
  follow(userId: $id) {
    user { id handle followerCount viewerFollows } errors { code message field }
  }
}"""
UNFOLLOW = """
mutation($id: ID!) {
  unfollow(userId: $id) {
    user { id handle followerCount viewerFollows } errors { code message field }
  }
}"""
FEED = f"""
query($first: Int, $after: String) {{
  feed(first: $first, after: $after) {{
    edges {{ cursor node {{ id title author {{ id }} }} }} {PAGE_INFO} totalCount
  }}
}}"""


async def follow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    await succeeded(gql, FOLLOW, {"id": user_id}, who, "follow")


async def unfollow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    await succeeded(gql, UNFOLLOW, {"id": user_id}, who, "unfollow")
