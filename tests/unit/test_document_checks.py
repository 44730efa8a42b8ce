"""Document checks (schema/document_checks.py): the token limit, the shape limits
(depth, aliases, directives, merged fields), validation, and the cache."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

import schema.document_checks as document_checks
from schema import AgoraSchema
from schema.document_checks import CheckedDocument, DocumentChecks


@pytest.fixture
def checks(schema: AgoraSchema) -> DocumentChecks:
    """A cache of its own, so tests see each document checked afresh."""
    return DocumentChecks(schema._schema, hide_suggestions=False)


def codes(checked: CheckedDocument) -> list[str]:
    return [str((error.extensions or {}).get("code")) for error in checked.errors]


def too_complex(checked: CheckedDocument, words: str) -> bool:
    return codes(checked) == ["QUERY_TOO_COMPLEX"] and words in checked.errors[0].message


def nested_followers(depth: int) -> str:
    """A valid query nesting `depth` object fields: viewer, then followers/edges/node..."""
    chain = ["viewer"] + [("followers", "edges", "node")[i % 3] for i in range(depth - 1)]
    return "{ " + " { ".join(chain) + " { __typename" + " }" * depth + " }"


def test_a_plain_query_passes(checks: DocumentChecks) -> None:
    checked = checks.check("{ viewer { id handle } }")
    assert checked.ok and checked.document is not None


def test_depth_12_passes_and_13_is_refused(checks: DocumentChecks) -> None:
    assert checks.check(nested_followers(12)).ok
    assert too_complex(checks.check(nested_followers(13)), "12 nesting levels")


def test_depth_counts_fields_inside_fragments(checks: DocumentChecks) -> None:
    # 13 levels, 6 of them in a fragment.
    query = (
        "{ viewer { followers { edges { node { followers { edges { node { ...F } } } } } } } } "
        "fragment F on User { followers { edges { node { followers { edges { node "
        "{ id } } } } } } }"
    )
    assert too_complex(checks.check(query), "12 nesting levels")


def test_graphiql_introspection_is_not_too_deep(checks: DocumentChecks) -> None:
    # `ofType` nests nine deep; it only unwraps types and is not counted.
    assert checks.check(get_introspection_query()).ok


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(count)) + " }"


def test_30_aliases_pass_and_31_are_refused(checks: DocumentChecks) -> None:
    assert checks.check(aliases(30)).ok
    assert too_complex(checks.check(aliases(31)), "30 aliases")


def test_aliases_are_counted_once_per_fragment_spread(checks: DocumentChecks) -> None:
    fields = " ".join(f"a{i}: id" for i in range(16))
    once = f"{{ viewer {{ ...F }} }} fragment F on User {{ {fields} }}"
    twice = (
        f'{{ viewer {{ ...F }} user(handle: "x") {{ ...F }} }} fragment F on User {{ {fields} }}'
    )
    assert checks.check(once).ok
    assert too_complex(checks.check(twice), "30 aliases")


def directives(fields: int) -> str:
    # Two directives a field.
    body = " ".join(f"f{i}: id @include(if: true) @skip(if: false)" for i in range(fields))
    return f"{{ viewer {{ {body} }} }}"


def test_50_directives_pass_and_51_are_refused(checks: DocumentChecks) -> None:
    assert checks.check(directives(25)).ok
    over = directives(25).replace("{ viewer {", "{ viewer @include(if: true) {", 1)
    assert too_complex(checks.check(over), "50 directives")


def test_the_same_field_20_times_passes_and_21_times_is_refused(checks: DocumentChecks) -> None:
    assert checks.check("{ viewer { " + "id " * 20 + "} }").ok
    assert too_complex(checks.check("{ viewer { " + "id " * 21 + "} }"), "'id' more than 20")


def test_200_merged_fields_pass_and_201_are_refused(checks: DocumentChecks) -> None:
    ten = "id handle displayName role createdAt email followerCount followingCount "
    fragment = f"fragment F on User {{ {ten} viewerFollows __typename }}"
    assert len((ten + "viewerFollows __typename").split()) == 10
    merged_200 = "{ viewer { " + "...F " * 20 + "} } " + fragment
    assert checks.check(merged_200).ok
    merged_201 = "{ viewer { profile { bio } " + "...F " * 20 + "} } " + fragment
    assert too_complex(checks.check(merged_201), "more than 200 fields")


def list_of_ids(count: int) -> str:
    # 12 tokens around the list: { nodes ( ids : [ ... ] ) { id } }
    return "{ nodes(ids: [" + " ".join(['"a"'] * count) + "]) { id } }"


def test_5000_tokens_pass_and_more_are_refused(checks: DocumentChecks) -> None:
    assert checks.check(list_of_ids(5000 - 12)).ok
    refused = checks.check(list_of_ids(5001 - 12))
    assert refused.document is None
    assert len(refused.errors) == 1 and "5000 tokens" in refused.errors[0].message


def test_the_token_limit_is_reported_as_too_complex(checks: DocumentChecks) -> None:
    assert codes(checks.check(list_of_ids(6000))) == ["QUERY_TOO_COMPLEX"]


def test_a_syntax_error_is_a_parse_failure(checks: DocumentChecks) -> None:
    checked = checks.check("{ viewer { id ")
    assert checked.document is None
    assert codes(checked) == ["GRAPHQL_PARSE_FAILED"]


def test_validation_errors_are_reported(checks: DocumentChecks) -> None:
    checked = checks.check("{ viewer { id nope } }")
    assert checked.document is not None and not checked.ok
    assert "nope" in checked.errors[0].message


def test_nul_characters_in_text_are_refused(checks: DocumentChecks) -> None:
    checked = checks.check('{ user(handle: "a\\u0000b") { id } }')
    assert codes(checked) == ["BAD_USER_INPUT"]


def test_a_repeated_document_is_served_from_the_cache(checks: DocumentChecks) -> None:
    query = "{ viewer { id } }"
    first = checks.check(query)
    assert checks.check(query) is first
    assert len(checks) == 1
    # Refusals are cached too.
    refused = checks.check(aliases(31))
    assert checks.check(aliases(31)) is refused
    assert len(checks) == 2


def test_the_cache_keeps_the_most_recently_used_documents(
    checks: DocumentChecks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(document_checks, "CACHE_ENTRIES", 2)
    a, b, c = "{ viewer { id } }", "{ viewer { handle } }", "{ viewer { role } }"
    checked_a, checked_b = checks.check(a), checks.check(b)
    assert checks.check(a) is checked_a  # a is now the most recently used
    checks.check(c)  # evicts b
    assert len(checks) == 2
    assert checks.check(a) is checked_a
    assert checks.check(b) is not checked_b


def test_a_schema_checks_with_its_own_cache(schema: AgoraSchema) -> None:
    query = "{ viewer { displayName } }"
    assert schema.document_checks.check(query) is schema.document_checks.check(query)
