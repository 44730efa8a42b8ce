"""Posts through the API: the documents that write and list them, and creating or deleting
one (which must succeed)."""

from __future__ import annotations

from typing import Any

from support.accounts import Session
from support.graphql import PAGE_INFO, GraphQLClient, succeeded

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
