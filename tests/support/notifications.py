"""Notifications through the API: the documents, a user's notifications, and what they say."""

from __future__ import annotations

from typing import Any

from support.accounts import Session
from support.graphql import PAGE_INFO, GraphQLClient, data

NOTIFICATIONS = f"""
query($first: Int, $after: String, $unreadOnly: Boolean) {{
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {{
    edges {{
      cursor
      node {{
        id kind read createdAt
        actor {{ id handle }}
        post {{ id title }}
        comment {{ id body }}
      }}
    }}
    {PAGE_INFO}
    totalCount
  }}
}}"""
MARK_READ = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) { count errors { code } } }"


async def notifications(
    gql: GraphQLClient, who: Session, *, unread_only: bool | None = None
) -> dict[str, Any]:
    variables: dict[str, Any] = {"first": 100}
    if unread_only is not None:
        variables["unreadOnly"] = unread_only
    return (await data(gql, NOTIFICATIONS, variables, who.token))["notifications"]


def summary(connection: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, actor id, post id, comment id) of each notification, in listed order."""
    return [
        (
            n["kind"],
            n["actor"]["id"],
            n["post"]["id"] if n["post"] else None,
            n["comment"]["id"] if n["comment"] else None,
        )
        for n in (edge["node"] for edge in connection["edges"])
    ]
