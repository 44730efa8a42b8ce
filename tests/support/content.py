"""Posts, comments, follows, reactions and notifications through the API: the documents
and the helpers that create, delete and list them (each one must succeed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from support.accounts import Session
from support.graphql import PAGE_INFO, GraphQLClient, data

# Posts
POST_FIELDS = """
  id title body tags status createdAt updatedAt publishedAt
  author { id handle }
"""
POST_PAYLOAD = f"post {{ {POST_FIELDS} }} errors {{ code message field }}"
CREATE_POST = f"""
mutation($input: CreatePostInput!) {{ createPost(input: $input) {{ {POST_PAYLOAD} }} }}"""
UPDATE_POST = f"""
mutation($input: UpdatePostInput!) {{ updatePost(input: $input) {{ {POST_PAYLOAD} }} }}"""
PUBLISH_POST = f"mutation($id: ID!) {{ publishPost(id: $id) {{ {POST_PAYLOAD} }} }}"
DELETE_POST = "mutation($id: ID!) { deletePost(id: $id) { deletedId errors { code field } } }"
POST = f"query($id: ID!) {{ post(id: $id) {{ {POST_FIELDS} }} }}"
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { handle }
    ... on Post { title status }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""
NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on User { handle }
    ... on Post { title }
    ... on Comment { body }
    ... on Notification { kind }
  }
}"""
POSTS = f"""
query($first: Int, $after: String, $authorId: ID, $tag: String, $search: String) {{
  posts(first: $first, after: $after, authorId: $authorId, tag: $tag, search: $search) {{
    edges {{ cursor node {{ id title status publishedAt author {{ id }} }} }}
    {PAGE_INFO}
    totalCount
  }}
}}"""
USER_POSTS = f"""
query($handle: String!, $first: Int, $after: String) {{
  user(handle: $handle) {{
    posts(first: $first, after: $after) {{
      edges {{ cursor node {{ id title status }} }} {PAGE_INFO} totalCount
    }}
  }}
}}"""
VIEWER_POSTS = "{ viewer { posts { edges { node { id status } } totalCount } } }"
FEED = f"""
query($first: Int, $after: String) {{
  feed(first: $first, after: $after) {{
    edges {{ cursor node {{ id title author {{ id }} }} }} {PAGE_INFO} totalCount
  }}
}}"""


# Comments
COMMENT_FIELDS = """
  id body createdAt editedAt
  author { id handle }
  post { id }
  parent { id }
"""
COMMENT_PAYLOAD = f"comment {{ {COMMENT_FIELDS} }} errors {{ code message field }}"
ADD_COMMENT = f"""
mutation($input: AddCommentInput!) {{ addComment(input: $input) {{ {COMMENT_PAYLOAD} }} }}"""
EDIT_COMMENT = f"""
mutation($input: EditCommentInput!) {{ editComment(input: $input) {{ {COMMENT_PAYLOAD} }} }}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"
POST_COMMENTS = f"""
query($id: ID!, $first: Int, $after: String) {{
  post(id: $id) {{
    commentCount
    comments(first: $first, after: $after) {{
      edges {{ cursor node {{ id body author {{ handle }} parent {{ id }} }} }}
      {PAGE_INFO} totalCount
    }}
  }}
}}"""
COMMENT_REPLIES = f"""
query($id: ID!, $first: Int, $after: String) {{
  node(id: $id) {{
    ... on Comment {{
      id body
      replies(first: $first, after: $after) {{
        edges {{ cursor node {{ id body parent {{ id }} }} }} {PAGE_INFO} totalCount
      }}
    }}
  }}
}}"""


# Follows
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


# Reactions
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


# Notifications
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


# Helpers


async def succeeded(
    gql: GraphQLClient, mutation: str, variables: dict[str, Any], who: Session, name: str
) -> dict[str, Any]:
    """The `name` payload of a mutation made by `who`, which must report no errors."""
    payload = (await data(gql, mutation, variables, who.token))[name]
    assert payload["errors"] == [], payload
    return payload


async def create_post(
    gql: GraphQLClient,
    author: Session,
    *,
    title: str = "A title",
    body: str = "Some body text.",
    tags: list[str] | None = None,
    publish: bool = True,
) -> dict[str, Any]:
    variables = {"input": {"title": title, "body": body, "tags": tags or [], "publish": publish}}
    return (await succeeded(gql, CREATE_POST, variables, author, "createPost"))["post"]


async def delete_post(gql: GraphQLClient, who: Session, post_id: str) -> None:
    payload = await succeeded(gql, DELETE_POST, {"id": post_id}, who, "deletePost")
    assert payload == {"deletedId": post_id, "errors": []}


async def add_comment(
    gql: GraphQLClient,
    who: Session,
    post_id: str,
    body: str = "A comment.",
    parent_id: str | None = None,
) -> dict[str, Any]:
    variables = {"input": {"postId": post_id, "body": body, "parentId": parent_id}}
    return (await succeeded(gql, ADD_COMMENT, variables, who, "addComment"))["comment"]


async def delete_comment(gql: GraphQLClient, who: Session, comment_id: str) -> None:
    payload = await succeeded(gql, DELETE_COMMENT, {"id": comment_id}, who, "deleteComment")
    assert payload == {"deletedId": comment_id, "errors": []}


async def follow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    await succeeded(gql, FOLLOW, {"id": user_id}, who, "follow")


async def unfollow(gql: GraphQLClient, who: Session, user_id: str) -> None:
    await succeeded(gql, UNFOLLOW, {"id": user_id}, who, "unfollow")


async def react(gql: GraphQLClient, who: Session, post_id: str, kind: str) -> dict[str, Any]:
    return await succeeded(gql, REACT, {"postId": post_id, "kind": kind}, who, "react")


def reaction_counts(post: dict[str, Any]) -> dict[str, int]:
    counts = {r["kind"]: r["count"] for r in post["reactions"]}
    assert len(counts) == len(post["reactions"]), post  # one entry per kind
    return counts


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


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
