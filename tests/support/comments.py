"""Comments through the API: the documents that write and list them, and adding or deleting
one (which must succeed)."""

from __future__ import annotations

from typing import Any

from support.accounts import Session
from support.graphql import PAGE_INFO, GraphQLClient, succeeded

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
