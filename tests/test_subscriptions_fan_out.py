"""Subscriptions across two server processes (A and B) sharing PostgreSQL, SecantusDB and
Redis: every subscriber gets every event exactly once and in order, whichever process the
mutation went through, with the same cursor for the same event everywhere.

Subscribers use the npm `graphql-ws` client (tests/js/subscribe.mjs, run by Node) on A and
gql (Python) on B; mutations go through both processes. See support/live_events.py for
how the tests make sure the subscribers are live first.
"""

from __future__ import annotations

from typing import Any

from support.accounts import Session, register
from support.cluster import Cluster, clients_of
from support.comments import add_comment
from support.graphql import GraphQLClient, data
from support.live_events import (
    COMMENTS,
    NOTIFICATIONS,
    PUBLISHED,
    REACTIONS,
    assert_cursors_increase,
    comment,
    comment_rows,
    is_probe_comment,
    is_probe_note,
    note_rows,
    probe_until_live,
    settled_after,
    total_reactions,
)
from support.posts import PUBLISH_POST, create_post
from support.reactions import react
from support.subscribers import GqlSubscriber, NodeSubscriber

UNREACT = """mutation($postId: ID!, $kind: ReactionKind!) {
  unreact(postId: $postId, kind: $kind) {
    post { id reactions { kind count } } errors { code message }
  }
}"""


async def test_every_subscriber_gets_every_event_once_in_order(cluster: Cluster, node: str) -> None:
    async with clients_of(cluster) as (via_a, via_b):
        author = await register(via_a, "mpa")
        commenters = [await register(via_b, "mpv"), await register(via_a, "mpw")]
        post = await create_post(via_a, author, title="Across processes")

        # On B, with gql: four subscriptions on one authenticated connection.
        on_b = GqlSubscriber(
            cluster.b.ws_url,
            {
                "comments": (COMMENTS, {"postId": post["id"]}),
                "reactions": (REACTIONS, {"postId": post["id"]}),
                "published": (PUBLISHED, {"authorId": author.id}),
                "notifications": (NOTIFICATIONS, {}),
            },
            token=author.token,
        ).start()
        node_subscribers: list[NodeSubscriber] = []
        try:
            kinds = ["LIKE", "LOVE", "INSIGHTFUL", "FUNNY"]

            async def probe(k: int) -> None:
                await create_post(via_b, author, title=f"probe {k}")  # postPublished only
                await react(via_a, author, post["id"], kinds[k - 1])  # own post: no notification
                # A comment and the author's COMMENTED notification, last of the round.
                await add_comment(via_b, commenters[0], post["id"], f"probe {k}")

            offsets = await probe_until_live(
                probe,
                [
                    (on_b["comments"], is_probe_comment),
                    (on_b["notifications"], is_probe_note),
                    (on_b["reactions"], lambda e, k: total_reactions(e) == k),
                    (on_b["published"], lambda e, k: e["post"]["title"] == f"probe {k}"),
                ],
            )
            probe_reactions = total_reactions(
                on_b["reactions"].events[offsets[on_b["reactions"]] - 1]
            )
            comment_anchor = on_b["comments"].events[offsets[on_b["comments"]] - 1]["cursor"]
            note_anchor = on_b["notifications"].events[offsets[on_b["notifications"]] - 1]["cursor"]

            v, w = commenters
            draft = await create_post(via_b, author, title="Published later", publish=False)
            expected_comments: list[tuple[str, str, str]] = []
            expected_notes: list[tuple[str, str, str | None]] = []
            reaction_ops = 0
            last_reactions: list[dict[str, Any]] = []

            async def add(gql: GraphQLClient, who: Session, body: str) -> None:
                row = await comment(gql, who, post["id"], body)
                expected_comments.append(row)
                expected_notes.append(("COMMENTED", who.handle, row[0]))

            async def add_reaction(gql: GraphQLClient, who: Session, kind: str) -> None:
                nonlocal reaction_ops, last_reactions
                payload = await react(gql, who, post["id"], kind)
                reaction_ops += 1
                last_reactions = payload["post"]["reactions"]
                expected_notes.append(("REACTED", who.handle, None))

            async def remove_reaction(gql: GraphQLClient, who: Session, kind: str) -> None:
                nonlocal reaction_ops, last_reactions
                body = await data(gql, UNREACT, {"postId": post["id"], "kind": kind}, who.token)
                assert body["unreact"]["errors"] == [], body
                reaction_ops += 1  # no notification for taking a reaction back
                last_reactions = body["unreact"]["post"]["reactions"]

            # On A, with the npm graphql-ws client, resuming right after the probes: they
            # get exactly the events below, whenever their subscription is registered.
            n_comments, n_notes = 8, 11  # the mutations below: 8 comments + 3 reactions notify
            node_subscribers = [
                await NodeSubscriber(
                    node, cluster.a.ws_url, COMMENTS,
                    {"postId": post["id"], "since": comment_anchor}, count=n_comments,
                    name="commentAdded",
                ).start(),
                await NodeSubscriber(
                    node, cluster.a.ws_url, NOTIFICATIONS,
                    {"since": note_anchor}, token=author.token, count=n_notes,
                    name="notificationReceived",
                ).start(),
            ]  # fmt: skip
            node_comments, node_notes = (s.stream for s in node_subscribers)

            # First half, alternating processes.
            await add(via_a, v, "one (via A)")
            await add(via_b, w, "two (via B)")
            await add_reaction(via_b, v, "LIKE")
            await add(via_a, w, "three (via A)")
            await add_reaction(via_a, w, "LOVE")
            await add(via_b, v, "four (via B)")
            # Both Node subscribers are now surely registered: the rest reaches them live.
            await node_comments.expect_count(4)
            await node_notes.expect_count(6)
            published = await data(via_a, PUBLISH_POST, {"id": draft["id"]}, author.token)
            assert published["publishPost"]["errors"] == [], published
            await add(via_a, v, "five (via A)")
            await remove_reaction(via_b, v, "LIKE")
            await add(via_b, w, "six (via B)")
            await add_reaction(via_a, v, "FUNNY")
            await add(via_a, w, "seven (via A)")
            await add(via_b, v, "eight (via B)")
            assert (len(expected_comments), len(expected_notes)) == (n_comments, n_notes)

            # gql on B: everything after the probes, once, in order.
            b_comments = await settled_after(
                on_b["comments"], offsets[on_b["comments"]], n_comments
            )
            assert comment_rows(b_comments) == expected_comments
            assert_cursors_increase("gql comments", b_comments, after=comment_anchor)

            b_notes = await settled_after(
                on_b["notifications"], offsets[on_b["notifications"]], n_notes
            )
            assert note_rows(b_notes) == expected_notes
            assert_cursors_increase("gql notifications", b_notes, after=note_anchor)

            b_reactions = await settled_after(
                on_b["reactions"], offsets[on_b["reactions"]], reaction_ops
            )
            assert_cursors_increase("gql reactions", b_reactions)
            assert {e["post"]["id"] for e in b_reactions} == {post["id"]}
            # Each event is resolved when delivered, so only the last counts are certain.
            assert b_reactions[-1]["reactions"] == last_reactions
            assert total_reactions(b_reactions[-1]) == probe_reactions + 2

            b_published = await settled_after(on_b["published"], offsets[on_b["published"]], 1)
            assert [(e["post"]["id"], e["post"]["status"]) for e in b_published] == [
                (draft["id"], "PUBLISHED")
            ]

            # graphql-ws on A: the same events, in the same order, with the same cursors.
            for subscriber in node_subscribers:
                assert await subscriber.finish() == 0, subscriber.stderr.decode()
            assert comment_rows(node_comments.events) == expected_comments
            assert [e["cursor"] for e in node_comments.events] == [e["cursor"] for e in b_comments]
            assert note_rows(node_notes.events) == expected_notes
            assert [e["cursor"] for e in node_notes.events] == [e["cursor"] for e in b_notes]
        finally:
            await on_b.close()
            for subscriber in node_subscribers:
                await subscriber.kill()
