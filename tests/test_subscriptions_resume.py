"""Subscriptions across two server processes (A and B) sharing PostgreSQL, SecantusDB and
Redis: a subscriber that disconnects and reconnects to the other process with
`since: <last cursor>` gets exactly the events it missed, then live ones.

See support/live_events.py for how the tests make sure the subscribers are live first.
"""

from __future__ import annotations

from support import live_events
from support.accounts import register
from support.cluster import Cluster, clients_of
from support.posts import create_post
from support.subscribers import GqlSubscriber


async def test_resume_on_the_other_process_gets_exactly_the_missed_events(
    cluster: Cluster,
) -> None:
    async with clients_of(cluster) as (via_a, via_b):
        author, reader = await register(via_a, "mpr"), await register(via_b, "mps")
        post = await create_post(via_b, author)

        first = GqlSubscriber(
            cluster.a.ws_url, {"c": (live_events.COMMENTS, {"postId": post["id"]})}
        )
        first.start()
        try:
            offsets = await live_events.probe_comments_until_live(
                via_a, author, post["id"], [first["c"]]
            )
            seen = [
                await live_events.comment(via_b, reader, post["id"], f"seen {i}") for i in range(3)
            ]
            events = await live_events.settled_after(first["c"], offsets[first["c"]], 3)
            assert live_events.comment_rows(events) == seen
            last_cursor = events[-1]["cursor"]
        finally:
            await first.close()

        # Offline: comments through both processes.
        missed = [
            await live_events.comment(
                via_b if i % 2 == 0 else via_a, reader, post["id"], f"missed {i}"
            )
            for i in range(4)
        ]
        # Reconnects to the other process, resuming after the last event seen.
        second = GqlSubscriber(
            cluster.b.ws_url,
            {"c": (live_events.COMMENTS, {"postId": post["id"], "since": last_cursor})},
        ).start()
        try:
            await second["c"].expect_count(4)
            live = [
                await live_events.comment(via_a, author, post["id"], f"live {i}") for i in range(3)
            ]
            events = await live_events.settled(second["c"], 7)
        finally:
            await second.close()
        assert live_events.comment_rows(events) == missed + live
        live_events.assert_cursors_increase("resumed", events, after=last_cursor)
