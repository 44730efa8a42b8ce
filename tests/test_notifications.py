"""Notifications of follows, comments, replies and reactions: whose they are, never
for one's own actions, private, and marked read."""

from __future__ import annotations

from support.accounts import register_many
from support.comments import add_comment
from support.follows import follow
from support.graphql import GraphQLClient, data, node_ids, parse_time, top_level_code
from support.ids import NODE, NODES
from support.notifications import MARK_READ, NOTIFICATIONS, notifications, summary
from support.posts import create_post
from support.reactions import react


async def test_notifications_for_follows_comments_replies_reactions(gql: GraphQLClient) -> None:
    author, bob, carol = await register_many(gql, 3)
    post = await create_post(gql, author, title="Noted")
    await follow(gql, bob, author.id)
    comment = await add_comment(gql, bob, post["id"], "nice post")
    await react(gql, carol, post["id"], "INSIGHTFUL")

    listed = await notifications(gql, author)
    assert summary(listed) == [  # newest first
        ("REACTED", carol.id, post["id"], None),
        ("COMMENTED", bob.id, post["id"], comment["id"]),
        ("FOLLOWED", bob.id, None, None),
    ]
    assert listed["totalCount"] == 3
    nodes = [e["node"] for e in listed["edges"]]
    assert all(n["read"] is False for n in nodes)
    times = [parse_time(n["createdAt"]) for n in nodes]
    assert times == sorted(times, reverse=True)
    assert nodes[0]["actor"]["handle"] == carol.handle
    assert nodes[1]["post"]["title"] == "Noted"
    assert nodes[1]["comment"]["body"] == "nice post"

    reply = await add_comment(gql, carol, post["id"], "I agree", parent_id=comment["id"])
    bob_notes = await notifications(gql, bob)
    assert summary(bob_notes) == [("REPLIED", carol.id, post["id"], reply["id"])]
    assert bob_notes["edges"][0]["node"]["comment"]["body"] == "I agree"
    # Carol acted and was not acted upon.
    assert (await notifications(gql, carol))["totalCount"] == 0

    anonymous = await gql(NOTIFICATIONS)
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    assert anonymous["data"] is None


async def test_no_notifications_for_your_own_actions(gql: GraphQLClient) -> None:
    author, bob = await register_many(gql, 2)
    post = await create_post(gql, author)
    own = await add_comment(gql, author, post["id"], "commenting on my own post")
    await add_comment(gql, author, post["id"], "replying to myself", parent_id=own["id"])
    await react(gql, author, post["id"], "LOVE")
    mine = await notifications(gql, author)
    assert mine["edges"] == [], summary(mine)
    assert mine["totalCount"] == 0

    # Bob replies to his own comment on the author's post: the author hears of it
    # (a comment on their post), Bob does not.
    bobs = await add_comment(gql, bob, post["id"], "bob here")
    bobs_reply = await add_comment(gql, bob, post["id"], "bob again", parent_id=bobs["id"])
    assert (await notifications(gql, bob))["totalCount"] == 0, summary(
        await notifications(gql, bob)
    )
    author_notes = summary(await notifications(gql, author))
    assert ("COMMENTED", bob.id, post["id"], bobs["id"]) in author_notes
    assert all(actor == bob.id for _, actor, _, _ in author_notes)
    assert any(comment == bobs_reply["id"] for _, _, _, comment in author_notes)

    # The author replies to Bob: Bob is notified, the author is not.
    answer = await add_comment(gql, author, post["id"], "thanks", parent_id=bobs["id"])
    assert summary(await notifications(gql, bob)) == [
        ("REPLIED", author.id, post["id"], answer["id"])
    ]
    assert all(actor == bob.id for _, actor, _, _ in summary(await notifications(gql, author)))


async def test_notifications_are_private_and_can_be_marked_read(gql: GraphQLClient) -> None:
    alice, bob, carol, dave = await register_many(gql, 4)
    await follow(gql, bob, alice.id)
    await follow(gql, carol, alice.id)
    await follow(gql, dave, alice.id)
    await follow(gql, alice, bob.id)  # bob's own notification

    alice_notes = await notifications(gql, alice)
    assert [n[1] for n in summary(alice_notes)] == [dave.id, carol.id, bob.id]
    n_dave, n_carol, n_bob = node_ids(alice_notes)
    [bobs_note] = node_ids(await notifications(gql, bob))

    # Nobody else reaches a notification, even by id.
    assert (await data(gql, NODE, {"id": n_dave}, alice.token))["node"] == {
        "__typename": "Notification",
        "id": n_dave,
        "kind": "FOLLOWED",
    }
    assert (await data(gql, NODE, {"id": bobs_note}, alice.token))["node"] is None
    assert (await data(gql, NODE, {"id": n_dave}))["node"] is None
    assert (await data(gql, NODES, {"ids": [n_dave, bobs_note]}, alice.token))["nodes"] == [
        {"__typename": "Notification", "id": n_dave, "kind": "FOLLOWED"},
        None,
    ]

    unread = await notifications(gql, alice, unread_only=True)
    assert node_ids(unread) == [n_dave, n_carol, n_bob] and unread["totalCount"] == 3

    # Only the viewer's own notifications are marked: bob's is ignored.
    marked = (await data(gql, MARK_READ, {"ids": [n_carol, bobs_note]}, alice.token))[
        "markNotificationsRead"
    ]
    assert marked == {"count": 1, "errors": []}
    unread = await notifications(gql, alice, unread_only=True)
    assert node_ids(unread) == [n_dave, n_bob] and unread["totalCount"] == 2
    everything = await notifications(gql, alice, unread_only=False)
    assert node_ids(everything) == [n_dave, n_carol, n_bob]
    assert [e["node"]["read"] for e in everything["edges"]] == [False, True, False]
    assert everything["totalCount"] == 3
    bob_view = await notifications(gql, bob)
    assert [e["node"]["read"] for e in bob_view["edges"]] == [False]

    # Marking an already-read notification changes nothing.
    again = (await data(gql, MARK_READ, {"ids": [n_carol]}, alice.token))["markNotificationsRead"]
    assert again == {"count": 0, "errors": []}

    # No ids: all of them.
    all_marked = (await data(gql, MARK_READ, {}, alice.token))["markNotificationsRead"]
    assert all_marked == {"count": 2, "errors": []}
    unread = await notifications(gql, alice, unread_only=True)
    assert unread["edges"] == [] and unread["totalCount"] == 0
    assert all(e["node"]["read"] for e in (await notifications(gql, alice))["edges"])
    # Bob's notification is still unread.
    assert (await notifications(gql, bob, unread_only=True))["totalCount"] == 1

    anonymous = await gql(MARK_READ, {})
    assert top_level_code(anonymous) == "UNAUTHENTICATED"
    anonymous_list = await gql(NOTIFICATIONS, {"unreadOnly": True})
    assert top_level_code(anonymous_list) == "UNAUTHENTICATED"
