"""Deleting a post spans two stores with no shared transaction: an interrupted
deletion shows nothing orphaned, and the next start finishes it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.accounts import register
from support.apps import BACKENDS, backend_settings, start_app
from support.comments import add_comment
from support.graphql import GraphQLClient
from support.ids import key_of
from support.notifications import notifications
from support.posts import create_post
from support.reactions import react


@pytest.mark.parametrize("backend", BACKENDS)
async def test_interrupted_post_deletion_hides_everything_and_is_finished_at_start(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = backend_settings(backend, tmp_path, request, isolated_db=True)
    running = await start_app(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            gql = GraphQLClient(http)
            author, reader = await register(gql, "del"), await register(gql, "rd")
            post = await create_post(gql, author, title="Doomed")
            comment = await add_comment(gql, reader, post["id"], "first!")
            reply = await add_comment(gql, author, post["id"], "thanks", comment["id"])
            await react(gql, reader, post["id"], "LIKE")
            assert len((await notifications(gql, author))["edges"]) == 2  # COMMENTED, REACTED

            # The deletion dies right after its first step: only the tombstone is written.
            stores = running.app.state.stores
            post_id = int(key_of(post["id"]))
            assert await stores.relational.posts.mark_deleted(post_id)

            lookups = await gql(
                "query($ids: [ID!]!, $p: ID!) { nodes(ids: $ids) { id } post(id: $p) { id } }",
                {"ids": [post["id"], comment["id"], reply["id"]], "p": post["id"]},
                token=author.token,
            )
            assert lookups["data"] == {"nodes": [None, None, None], "post": None}
            assert (await notifications(gql, author))["edges"] == []
            assert (await notifications(gql, reader))["edges"] == []  # REPLIED hidden too
            assert await stores.documents.comments.count_for_posts([post_id]) == {post_id: 2}
            notes = stores.documents.notifications.collection
            assert await notes.count_documents({"post_id": post_id}) == 3
    finally:
        await running.stop()

    # The next start completes the deletion in both stores.
    restarted = await start_app(settings)
    try:
        stores = restarted.app.state.stores
        assert await stores.relational.posts.pending_deletions() == []
        assert await stores.documents.comments.count_for_posts([post_id]) == {post_id: 0}
        assert await stores.documents.reactions.counts([post_id]) == {post_id: {}}
        notes = stores.documents.notifications.collection
        assert await notes.count_documents({"post_id": post_id}) == 0
    finally:
        await restarted.stop()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_comment_racing_a_deletion_is_taken_back(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The comment is written after the post was checked but before the deletion's
    tombstone is seen: the write is undone instead of outliving the post."""
    settings = backend_settings(backend, tmp_path, request, isolated_db=True)
    running = await start_app(settings)
    try:
        stores = running.app.state.stores
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            gql = GraphQLClient(http)
            author = await register(gql, "race")
            post = await create_post(gql, author)
            post_id = int(key_of(post["id"]))
            comments = stores.documents.comments
            original_add = comments.add

            async def add_then_delete(*args: object, **kwargs: object) -> object:
                written = await original_add(*args, **kwargs)
                await stores.relational.posts.mark_deleted(post_id)  # the deletion begins
                return written

            comments.add = add_then_delete
            try:
                body = await gql(
                    'mutation($p: ID!) { addComment(input: {postId: $p, body: "late"}) '
                    "{ comment { id } errors { code } } }",
                    {"p": post["id"]},
                    token=author.token,
                )
            finally:
                comments.add = original_add
            assert body["data"]["addComment"] == {
                "comment": None,
                "errors": [{"code": "NOT_FOUND"}],
            }
            assert await comments.count_for_posts([post_id]) == {post_id: 0}
    finally:
        await running.stop()
