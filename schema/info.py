"""`Info`, what every resolver receives: Strawberry's info, whose `context` is Agora's
per-request `Context` (so `info.context.loaders.x.load(...)` is typed)."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from resolvers.context import Context

Info: TypeAlias = strawberry.Info[Context, None]
