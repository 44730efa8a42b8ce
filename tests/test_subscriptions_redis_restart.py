"""Subscriptions across two server processes (A and B) sharing PostgreSQL, SecantusDB and
Redis: when Redis restarts under live subscriptions, mutations keep working during the
outage and new events reach the subscribers afterwards, without restarting the apps.

Subscribers use gql (Python) on both processes and the npm `graphql-ws` client
(tests/js/subscribe.mjs, run by Node) on B. See support/live_events.py for how the tests
make sure the subscribers are live first.
"""

from __future__ import annotations

import asyncio
import time

from support import live_events
from support.accounts import register
from support.cluster import Cluster, clients_of
from support.posts import create_post
from support.subscribers import GqlSubscriber, NodeSubscriber


async def test_redis_restart_under_live_subscriptions(cluster: Cluster, node: str) -> None:
    async with clients_of(cluster) as (via_a, via_b):
        author, other = await register(via_a, "mpx"), await register(via_b, "mpy")
        post = await create_post(via_a, author)
        variables = {"postId": post["id"]}
        pids = [p.process.pid for p in cluster.processes()]

        on_a = GqlSubscriber(cluster.a.ws_url, {"c": (live_events.COMMENTS, variables)}).start()
        on_b = GqlSubscriber(cluster.b.ws_url, {"c": (live_events.COMMENTS, variables)}).start()
        node_b = await NodeSubscriber(
            node, cluster.b.ws_url, live_events.COMMENTS, variables, timeout=60, name="commentAdded"
        ).start()
        streams = [on_a["c"], on_b["c"], node_b.stream]
        try:
            offsets = await live_events.probe_comments_until_live(
                via_b, author, post["id"], streams
            )
            before = [
                await live_events.comment(via_a, other, post["id"], "before (via A)"),
                await live_events.comment(via_b, other, post["id"], "before (via B)"),
            ]
            for stream in streams:
                events = await live_events.settled_after(stream, offsets[stream], 2)
                assert live_events.comment_rows(events) == before

            await asyncio.to_thread(cluster.redis.stop)
            try:
                # Mutations still succeed while Redis is down (their events may be lost).
                for gql, body in ((via_a, "during (via A)"), (via_b, "during (via B)")):
                    response = await gql.raw(
                        "mutation($input: AddCommentInput!) { addComment(input: $input) "
                        "{ comment { id } errors { code } } }",
                        {"input": {"postId": post["id"], "body": body}},
                        token=other.token,
                    )
                    assert response.status_code == 200, response.text
                    payload = response.json()
                    assert "errors" not in payload, payload
                    assert payload["data"]["addComment"]["errors"] == [], payload
            finally:
                await asyncio.to_thread(cluster.redis.start)

            # Redis is back (empty: it keeps nothing on disk). New events reach every
            # subscriber again, through either process, without restarting anything.
            after: list[tuple[str, str, str]] = []
            deadline = time.monotonic() + 20
            while True:
                gql = via_a if len(after) % 2 == 0 else via_b
                after.append(
                    await live_events.comment(gql, other, post["id"], f"after {len(after)}")
                )
                ids = {row[0] for row in after}
                reached = [
                    await stream.wait_for(
                        lambda events, ids=ids: any(e["comment"]["id"] in ids for e in events), 0.5
                    )
                    for stream in streams
                ]
                if all(reached):
                    break
                assert time.monotonic() < deadline, (
                    f"no event after the Redis restart within 20 s: "
                    f"{[(s.name, live_events.comment_rows(s.events)) for s in streams]}"
                )
            # From then on, every event once and in order on every subscriber.
            await asyncio.sleep(0.5)  # what was still in flight from the probing
            counts = {stream: len(stream.events) for stream in streams}
            final = [
                await live_events.comment(
                    via_b if i % 2 == 0 else via_a, author, post["id"], f"final {i}"
                )
                for i in range(4)
            ]
            for stream in streams:
                events = await live_events.settled(stream, counts[stream] + len(final))
                assert live_events.comment_rows(events[counts[stream] :]) == final, stream.name
                ids = [e["comment"]["id"] for e in events]
                assert len(ids) == len(set(ids)), (stream.name, "duplicates", ids)
                live_events.assert_cursors_increase(stream.name, events)
                # Redis kept every event published after its restart: none was lost.
                assert [row for row in live_events.comment_rows(events) if row in after] == after, (
                    stream.name
                )
            assert [p.process.pid for p in cluster.processes()] == pids
            assert all(p.process.poll() is None for p in cluster.processes())
            assert await node_b.finish() == 0, node_b.stderr.decode()
        finally:
            await on_a.close()
            await on_b.close()
            await node_b.kill()
