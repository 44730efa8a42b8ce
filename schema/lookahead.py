"""What a field's selection asks for below it, read from the document, before its
resolver reads anything: a resolver that knows the request shows, say, its posts'
authors can read them in the same round trip.

Fields are matched by name through fragments and inline fragments (aliases do not
matter). `@skip` and `@include` are not read: a field they leave out still counts, and
costs only the read it would have saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from schema.info import Info


def selects(info: Info, *path: str) -> bool:
    """Whether the selection of the field being resolved holds `path`, a chain of field
    names below it (`selects(info, "edges", "node", "author")`)."""
    raw = info._raw_info  # graphql-core's info: the field's nodes and the fragments
    fragments = raw.fragments
    found: list[FieldNode] = list(raw.field_nodes)
    for name in path:
        found = [
            field
            for parent in found
            for field in _fields(parent.selection_set, fragments)
            if field.name.value == name
        ]
        if not found:
            return False
    return True


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)
