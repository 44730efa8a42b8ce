"""Errors resolvers raise (top-level GraphQL errors) and return (UserErrors in payloads)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AppError(Exception):
    """An expected failure whose message is safe to show to the client."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, **extensions: object) -> None:
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
