"""Input checks and normalisation for accounts, and the `search` argument of listings."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from domain import (
    HANDLE_PATTERN,
    MAX_DISPLAY_NAME,
    MAX_HANDLE,
    MAX_PASSWORD,
    MIN_HANDLE,
    MIN_PASSWORD,
)
from resolvers.errors import BadUserInput, FieldError, UserErrorCode

HANDLE = re.compile(HANDLE_PATTERN)
MAX_SEARCH = 200


def search_term(search: str | None) -> str | None:
    """A listing's `search` argument: None when blank, refused when too long."""
    term = search.strip() if search else ""
    if not term:
        return None
    if len(term) > MAX_SEARCH:
        raise BadUserInput(f"`search` is limited to {MAX_SEARCH} characters", argument="search")
    return term


def check_text(
    text: str, limit: int, code: UserErrorCode, what: str, field: tuple[str, ...]
) -> FieldError | None:
    """Text that must not be blank and may have at most `limit` characters."""
    if not text.strip() or len(text) > limit:
        return FieldError(code, f"{what} must be 1 to {limit} characters.", field)
    return None


def normalise_handle(handle: str) -> str:
    return handle.strip().lower()


def check_handle(handle: str, field: tuple[str, ...]) -> FieldError | None:
    if HANDLE.fullmatch(handle):
        return None
    return FieldError(
        UserErrorCode.INVALID_HANDLE,
        f"Handle must be {MIN_HANDLE} to {MAX_HANDLE} characters of a-z, 0-9 and _.",
        field,
    )


def normalise_email(email: str) -> str | None:
    """The canonical, lower-cased address, or None when it is not a valid address."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def check_password(password: str, field: tuple[str, ...]) -> FieldError | None:
    if len(password) < MIN_PASSWORD:
        return FieldError(
            UserErrorCode.PASSWORD_TOO_SHORT,
            f"Password must be at least {MIN_PASSWORD} characters.",
            field,
        )
    if len(password) > MAX_PASSWORD:
        return FieldError(
            UserErrorCode.PASSWORD_TOO_LONG,
            f"Password must be at most {MAX_PASSWORD} characters.",
            field,
        )
    return None


def normalise_display_name(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()


def check_display_name(name: str, field: tuple[str, ...]) -> FieldError | None:
    if not 1 <= len(name) <= MAX_DISPLAY_NAME or any(
        unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name
    ):
        return FieldError(
            UserErrorCode.INVALID_DISPLAY_NAME,
            f"Display name must be 1 to {MAX_DISPLAY_NAME} printable characters.",
            field,
        )
    return None
