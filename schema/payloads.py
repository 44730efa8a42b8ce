"""Mutation payloads: `UserError`, and the one way a mutation turns its rule's
`Outcome` into a payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from resolvers.errors import FieldError, Outcome
from resolvers.errors import UserErrorCode as UserErrorCodeValues

P = TypeVar("P")
R = TypeVar("R")

UserErrorCode = strawberry.enum(
    UserErrorCodeValues, name="UserErrorCode", description="What was wrong with the input."
)


@strawberry.type(description="A problem with the input that the client can fix.")
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    message: str
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "email"].'
    )

    @classmethod
    def from_field_error(cls, error: FieldError) -> UserError:
        return cls(
            code=error.code, message=error.message, field=list(error.field) if error.field else None
        )


def payload(payload_type: Callable[..., P], outcome: Outcome[R], **fields: Callable[[R], Any]) -> P:
    """`payload_type` with `errors` from the outcome's UserErrors and each named field
    converted from its record (null when there is none): e.g.
    `payload(PostPayload, outcome, post=Post.from_record)`."""
    record = outcome.value
    values = {name: None if record is None else convert(record) for name, convert in fields.items()}
    return payload_type(**values, errors=[UserError.from_field_error(e) for e in outcome.errors])


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="Null when nothing was deleted."
    )
    errors: list[UserError]
