"""Input rules of the account mutations and listings (resolvers/validation.py)."""

from __future__ import annotations

import pytest

from resolvers import validation
from resolvers.errors import BadUserInput, UserErrorCode

FIELD = ("input", "x")


@pytest.mark.parametrize("handle", ["ada", "ada_lovelace", "a1_", "x" * 30, "123"])
def test_valid_handles(handle: str) -> None:
    assert validation.check_handle(handle, FIELD) is None


@pytest.mark.parametrize(
    "handle", ["", "ab", "x" * 31, "Ada", "ada-l", "ada l", "adá", "ada\n", "ada!"]
)
def test_invalid_handles(handle: str) -> None:
    error = validation.check_handle(handle, FIELD)
    assert error is not None
    assert (error.code, error.field) == (UserErrorCode.INVALID_HANDLE, FIELD)


def test_handles_are_trimmed_and_lower_cased() -> None:
    assert validation.normalise_handle("  Ada_Lovelace ") == "ada_lovelace"
    assert validation.check_handle(validation.normalise_handle(" ADA "), FIELD) is None


def test_password_length_bounds() -> None:
    assert validation.check_password("x" * 10, FIELD) is None
    assert validation.check_password("x" * 1024, FIELD) is None
    short = validation.check_password("x" * 9, FIELD)
    long = validation.check_password("x" * 1025, FIELD)
    assert short is not None and short.code is UserErrorCode.PASSWORD_TOO_SHORT
    assert long is not None and long.code is UserErrorCode.PASSWORD_TOO_LONG
    assert short.field == long.field == FIELD


@pytest.mark.parametrize("name", ["A", "Ada Lovelace", "x" * 80, "Ådá 李 😀"])
def test_valid_display_names(name: str) -> None:
    assert validation.check_display_name(name, FIELD) is None


@pytest.mark.parametrize(
    "name", ["", "x" * 81, "bell\x07", "tab\tbed", "zero\u200bwidth", "line\u2028sep", "rtl\u202e"]
)
def test_invalid_display_names(name: str) -> None:
    error = validation.check_display_name(name, FIELD)
    assert error is not None and error.code is UserErrorCode.INVALID_DISPLAY_NAME


def test_display_names_are_trimmed_and_nfc_normalised() -> None:
    assert validation.normalise_display_name("  Ame\u0301lie ") == "Am\u00e9lie"


@pytest.mark.parametrize(
    ("email", "canonical"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
    ],
)
def test_emails_are_normalised(email: str, canonical: str) -> None:
    assert validation.normalise_email(email) == canonical


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@@x.com"]
)
def test_invalid_emails_are_none(email: str) -> None:
    assert validation.normalise_email(email) is None


def test_search_terms() -> None:
    assert validation.search_term(None) is None
    assert validation.search_term("") is None
    assert validation.search_term("   ") is None
    assert validation.search_term("  ada ") == "ada"
    assert validation.search_term("x" * 200) == "x" * 200
    with pytest.raises(BadUserInput) as refused:
        validation.search_term("x" * 201)
    assert refused.value.extensions == {"argument": "search"}
