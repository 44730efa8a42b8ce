"""What a seed run is asked for: sizes, random seed and the demo password."""

from __future__ import annotations

from dataclasses import dataclass

from domain import MIN_PASSWORD

DEFAULT_PASSWORD = "agora-demo-password"  # noqa: S105 - the documented demo password
DEFAULT_USERS = 200
DEFAULT_POSTS = 1000
DEFAULT_COMMENTS = 10_000
DEFAULT_SEED = 42


@dataclass(frozen=True)
class SeedOptions:
    users: int = DEFAULT_USERS
    posts: int = DEFAULT_POSTS
    comments: int = DEFAULT_COMMENTS
    seed: int = DEFAULT_SEED
    password: str = DEFAULT_PASSWORD

    def check(self) -> None:
        if self.users < 2:
            raise ValueError("--users must be at least 2")
        if self.posts < 0 or self.comments < 0:
            raise ValueError("--posts and --comments must not be negative")
        if self.comments and not self.posts:
            raise ValueError("--comments needs at least one post to comment on")
        if len(self.password) < MIN_PASSWORD:
            raise ValueError(f"--password must be at least {MIN_PASSWORD} characters")
