"""`generate(options)`: the demo data set, a pure function of the options (no clock, no I/O).

All randomness comes from one `random.Random(options.seed)`, drawn in a fixed order: users,
profiles, follows, posts, comments, reactions. Who is notified of each follow, comment and
reaction is `domain.notices`, the rule the mutations follow.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

from datasources.documents.comments import CommentRecord
from datasources.documents.notifications import NotificationRecord
from datasources.documents.profiles import ProfileRecord
from datasources.relational.posts import PostRecord
from datasources.relational.records import UserRecord
from domain import (
    Action,
    Commented,
    Followed,
    PostStatus,
    Reacted,
    ReactionKind,
    Role,
    notices,
)
from seed.dataset import DemoData
from seed.draws import Draws, cumulative
from seed.handles import unique_handle
from seed.options import SeedOptions
from seed.timeline import ANCHOR_MS, DAY, HOUR, MINUTE, from_ms, to_ms
from seed.vocabulary import (
    BIOS,
    CITIES,
    COMMENTS,
    FIRST_NAMES,
    HOBBIES,
    JOB_TITLES,
    LAST_NAMES,
    LINKS,
    REPLIES,
    SENTENCES,
    TAGS,
    TITLES,
    TOPICS,
)

PUBLISHED_SHARE = 0.88  # the rest are drafts
POST_WINDOW_DAYS = 180  # posts are written over the last six months
REPLY_SHARE = 0.45  # of the comments on a post that already has some
MAX_REPLY_DEPTH = 3  # a reply to a reply to a reply
REACTORS_PER_POST = 3.0  # on average, per published post
# How often each kind of reaction is chosen.
KIND_WEIGHTS = dict(zip(ReactionKind, (6.0, 2.5, 1.5, 1.0), strict=True))


def generate(options: SeedOptions) -> DemoData:
    """The demo data set for these options: a pure function of them (no clock, no I/O)."""
    options.check()
    return _Generator(options).run()


class _Generator:
    """Builds the data set; all randomness comes from one `random.Random(seed)`."""

    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.draw = Draws(self.rng)
        self.data = DemoData()
        self.fame: list[float] = []  # how much each user is followed
        self.activity: list[float] = []  # how much each user writes
        self.interests: list[list[str]] = []  # each user's favourite tags
        self.published: list[PostRecord] = []
        self.popularity: list[float] = []  # how much attention each published post gets

    def run(self) -> DemoData:
        self.users()
        self.profiles()
        self.follows()
        self.posts()
        self.comments()
        self.reactions()
        # Newest last, as they would have been written.
        self.data.notifications.sort(key=lambda n: (n.created_at, n.id))
        return self.data

    def users(self) -> None:
        rng, draw = self.rng, self.draw
        count = self.options.users
        # Sign-up times, oldest first: ids follow registration order.
        joined = sorted(
            draw.between(ANCHOR_MS - 400 * DAY, ANCHOR_MS - 20 * DAY) for _ in range(count)
        )
        taken: set[str] = set()
        for index, joined_ms in enumerate(joined):
            first, last = draw.pick(FIRST_NAMES), draw.pick(LAST_NAMES)
            handle = unique_handle(first, last, draw.count(0, 3), taken)
            domain = draw.pick(("example.com", "example.org", "example.net"))
            self.data.users.append(
                UserRecord(
                    id=index + 1,
                    handle=handle,
                    email=f"{handle}@{domain}",
                    display_name=unicodedata.normalize("NFC", f"{first} {last}"),
                    role=Role.USER.value,
                    created_at=from_ms(joined_ms),
                )
            )
        self.fame = [rng.paretovariate(1.3) for _ in range(count)]
        self.activity = [rng.paretovariate(1.6) for _ in range(count)]
        self.interests = [rng.sample(TAGS, 3) for _ in range(count)]

    def profiles(self) -> None:
        rng = self.rng
        for user, interests in zip(self.data.users, self.interests, strict=True):
            bio = ""
            if rng.random() < 0.9:
                job = rng.choice(JOB_TITLES)
                bio = rng.choice(BIOS).format(
                    role=job,
                    role_lower=job.lower(),
                    city=rng.choice(CITIES).split(",")[0],
                    topic=TOPICS[interests[0]],
                    topic2=TOPICS[interests[1]],
                    hobby=rng.choice(HOBBIES),
                )
            host = user.handle.replace("_", "-")  # no underscores in host names
            links = [
                link.format(handle=user.handle, host=host) for link in LINKS if rng.random() < 0.35
            ]
            self.data.profiles.append(
                ProfileRecord(
                    user_id=user.id,
                    bio=bio,
                    avatar_url=(
                        f"https://avatars.example.com/{user.handle}.png"
                        if rng.random() < 0.6
                        else None
                    ),
                    location=rng.choice(CITIES) if rng.random() < 0.75 else None,
                    links=links,
                )
            )

    def follows(self) -> None:
        rng, draw = self.rng, self.draw
        users = self.data.users
        count = len(users)
        fame = cumulative(self.fame)
        population = range(count)
        for follower in population:
            wanted = min(count - 1, int(rng.lognormvariate(2.0, 0.8)))
            chosen: set[int] = set()
            if wanted * 2 > count:
                chosen.update(rng.sample([i for i in population if i != follower], wanted))
            attempts = 0
            while len(chosen) < wanted and attempts < wanted * 20:
                attempts += 1
                followee = draw.weighted(fame)
                if followee != follower:
                    chosen.add(followee)
            for followee in sorted(chosen):
                start = max(to_ms(users[follower].created_at), to_ms(users[followee].created_at))
                at = draw.between(start, ANCHOR_MS)
                follower_id, followee_id = users[follower].id, users[followee].id
                self.data.follows.append((follower_id, followee_id, from_ms(at)))
                self.notify(Followed(actor_id=follower_id, followed_id=followee_id), at)

    def posts(self) -> None:
        rng, draw = self.rng, self.draw
        users = self.data.users
        authors = rng.choices(range(len(users)), weights=self.activity, k=self.options.posts)
        window_start = ANCHOR_MS - POST_WINDOW_DAYS * DAY
        drafts = []
        for author in authors:
            start = max(to_ms(users[author].created_at), window_start)
            drafts.append((draw.between(start, ANCHOR_MS - 2 * HOUR), author))
        drafts.sort()  # ids follow creation order
        for index, (created, author) in enumerate(drafts):
            interests = self.interests[author]
            tags = list(
                dict.fromkeys([rng.choice(interests), *rng.sample(TAGS, rng.randint(0, 3))])
            )
            topic = TOPICS[tags[0]]
            topic2 = TOPICS[tags[1]] if len(tags) > 1 else ""
            title = draw.fill(draw.pick(TITLES), topic, topic2)
            body = "\n\n".join(
                " ".join(
                    draw.fill(sentence, topic, topic2)
                    for sentence in rng.sample(SENTENCES, draw.count(3, 6))
                )
                for _ in range(draw.count(2, 6))
            )
            # The first post is always published, so there is something to comment on.
            published = index == 0 or rng.random() < PUBLISHED_SHARE
            if published:
                published_ms = min(created + rng.randint(2 * MINUTE, 3 * DAY), ANCHOR_MS - 1)
                updated_ms = published_ms
                if rng.random() < 0.2:
                    updated_ms = draw.between(published_ms, min(ANCHOR_MS, published_ms + 10 * DAY))
            else:
                updated_ms = draw.between(created, min(ANCHOR_MS, created + 5 * DAY))
            status = PostStatus.PUBLISHED if published else PostStatus.DRAFT
            self.data.posts.append(
                PostRecord(
                    id=index + 1,
                    author_id=users[author].id,
                    title=title,
                    body=body,
                    tags=tuple(tags),
                    status=status.value,
                    created_at=from_ms(created),
                    updated_at=from_ms(updated_ms),
                    published_at=from_ms(published_ms) if published else None,
                    sort_at=from_ms(published_ms if published else created),
                )
            )
        self.published = [post for post in self.data.posts if post.status == PostStatus.PUBLISHED]
        self.popularity = [rng.paretovariate(1.2) for _ in self.published]

    def comments(self) -> None:
        rng, draw = self.rng, self.draw
        users = self.data.users
        posts = self.published
        if not posts or not self.options.comments:
            return
        targets = Counter(
            rng.choices(
                range(len(posts)), cum_weights=cumulative(self.popularity), k=self.options.comments
            )
        )
        commenters = cumulative(self.activity)
        for index in sorted(targets):
            post = posts[index]
            topic = TOPICS[post.tags[0]]
            published_ms = to_ms(post.published_at or post.created_at)
            # (comment, depth) of this post's thread so far; eligible parents by index.
            thread: list[tuple[CommentRecord, int]] = []
            parents: list[int] = []
            for _ in range(targets[index]):
                parent: CommentRecord | None = None
                depth = 0
                if parents and rng.random() < REPLY_SHARE:
                    parent, parent_depth = thread[draw.pick(parents)]
                    depth = parent_depth + 1
                if parent is None:
                    created = draw.after(published_ms, 2 * DAY)
                    author_id = users[draw.weighted(commenters)].id
                    body = " ".join(
                        draw.fill(sentence, topic)
                        for sentence in rng.sample(COMMENTS, draw.count(1, 3))
                    )
                else:
                    created = draw.after(to_ms(parent.created_at), 4 * HOUR)
                    # Authors often answer in their own threads.
                    author_id = (
                        post.author_id
                        if rng.random() < 0.2
                        else users[draw.weighted(commenters)].id
                    )
                    body = " ".join(
                        draw.fill(sentence, topic)
                        for sentence in rng.sample(REPLIES, draw.count(1, 2))
                    )
                edited_at = None
                if rng.random() < 0.05:
                    edited_at = from_ms(min(ANCHOR_MS, created + rng.randint(MINUTE, 2 * HOUR)))
                comment = CommentRecord(
                    id=draw.object_id("comments", created),
                    post_id=post.id,
                    author_id=author_id,
                    parent_id=parent.id if parent else None,
                    body=body,
                    created_at=from_ms(created),
                    edited_at=edited_at,
                )
                self.data.comments.append(comment)
                if depth < MAX_REPLY_DEPTH:
                    parents.append(len(thread))
                thread.append((comment, depth))
                commented = Commented(
                    actor_id=author_id,
                    post_author_id=post.author_id,
                    parent_author_id=parent.author_id if parent else None,
                )
                self.notify(commented, created, post.id, comment.id)

    def reactions(self) -> None:
        rng, draw = self.rng, self.draw
        users = self.data.users
        posts = self.published
        if not posts:
            return
        slots = Counter(
            rng.choices(
                range(len(posts)),
                cum_weights=cumulative(self.popularity),
                k=round(len(posts) * REACTORS_PER_POST),
            )
        )
        for index in sorted(slots):
            post = posts[index]
            published_ms = to_ms(post.published_at or post.created_at)
            for reactor in rng.sample(range(len(users)), min(len(users), slots[index])):
                how_many = rng.choices((1, 2, 3, 4), weights=(72, 22, 5, 1))[0]
                # Weighted sampling without replacement (Efraimidis-Spirakis).
                chosen = sorted(
                    ReactionKind, key=lambda kind: rng.random() ** (1.0 / KIND_WEIGHTS[kind])
                )[-how_many:]
                user_id = users[reactor].id
                for kind in (kind for kind in ReactionKind if kind in chosen):
                    at = draw.after(published_ms, 2 * DAY)
                    self.data.reactions.append((post.id, user_id, kind.value, from_ms(at)))
                    self.notify(
                        Reacted(actor_id=user_id, post_author_id=post.author_id), at, post.id
                    )

    def notify(
        self, action: Action, at: int, post_id: int | None = None, comment_id: str | None = None
    ) -> None:
        """The notifications `action` causes, as the mutations create them."""
        for notice in notices(action):
            # Older notifications have mostly been read.
            read = at < ANCHOR_MS - 3 * DAY and self.rng.random() < 0.85
            self.data.notifications.append(
                NotificationRecord(
                    id=self.draw.object_id("notifications", at),
                    user_id=notice.recipient_id,
                    kind=notice.kind.value,
                    actor_id=action.actor_id,
                    post_id=post_id,
                    comment_id=comment_id,
                    read=read,
                    created_at=from_ms(at),
                )
            )
