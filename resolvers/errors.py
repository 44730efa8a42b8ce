"""Errors resolvers raise (top-level GraphQL errors) and return (UserErrors in payloads),
and `Outcome`, what a write rule returns: its record, its UserErrors, or both."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")


class AppError(Exception):
    """An expected failure whose message is safe to show to the client. Abstract: each
    subclass names its `extensions.code`, so no failure gets a code by default."""

    code: ClassVar[str]

    def __init__(self, message: str, **extensions: object) -> None:
        if not hasattr(self, "code"):
            raise TypeError(f"{type(self).__name__} must define its error code")
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"


class RateLimited(AppError):
    code = "RATE_LIMITED"


class CursorTooOld(AppError):
    """A `since` cursor older than what the event bus keeps."""

    code = "CURSOR_EXPIRED"


class TooSlow(AppError):
    """A subscriber that fell behind its buffer and was cut off (close code 1013)."""

    code = "TOO_SLOW"


class UserErrorCode(enum.Enum):
    INVALID_HANDLE = "INVALID_HANDLE"
    HANDLE_TAKEN = "HANDLE_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"  # noqa: S105 - an error code
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"  # noqa: S105 - an error code
    INVALID_DISPLAY_NAME = "INVALID_DISPLAY_NAME"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TITLE = "INVALID_TITLE"
    INVALID_BODY = "INVALID_BODY"
    INVALID_TAGS = "INVALID_TAGS"
    INVALID_URL = "INVALID_URL"
    TOO_LONG = "TOO_LONG"
    NOT_PUBLISHED = "NOT_PUBLISHED"
    INVALID_PARENT = "INVALID_PARENT"
    CANNOT_FOLLOW_SELF = "CANNOT_FOLLOW_SELF"
    ALREADY_FOLLOWING = "ALREADY_FOLLOWING"
    NOT_FOLLOWING = "NOT_FOLLOWING"
    ALREADY_REACTED = "ALREADY_REACTED"
    NOT_REACTED = "NOT_REACTED"


@dataclass(frozen=True)
class FieldError:
    """Something the client can fix by changing its input; `field` is the input path."""

    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a write rule returns: its record, or the UserErrors that stopped it. Some
    refusals still carry the record (reacting twice answers with the post as it is)."""

    value: T | None = None
    errors: list[FieldError] = field(default_factory=list)

    @classmethod
    def refused(cls, code: UserErrorCode, message: str, *path: str) -> Outcome[T]:
        return cls(errors=[FieldError(code, message, path or None)])
