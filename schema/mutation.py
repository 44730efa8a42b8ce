"""The root Mutation type, merged from the per-domain mutation classes."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from schema.accounts import AccountMutations

Mutation = merge_types("Mutation", (AccountMutations,))

__all__ = ["Mutation", "strawberry"]
