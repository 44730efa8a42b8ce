"""`rateLimit`: the client's cost budget, as GitHub's GraphQL API publishes it."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from schema.admission import budget_key, current_admission
from schema.info import Info


@strawberry.type(description="The cost budget of the client (the viewer, or its address).")
class RateLimit:
    cost: int = strawberry.field(description="What this operation was charged, in points.")
    limit: int = strawberry.field(description="Points per window.")
    remaining: int = strawberry.field(description="Points left in the current window.")
    reset_at: datetime = strawberry.field(description="When the window starts afresh.")


async def rate_limit(info: Info) -> RateLimit:
    """Costs nothing itself: the figures are the budget after this operation's charge."""
    context = info.context
    admission = current_admission()
    window = admission.budget if admission is not None else None
    if window is None:
        settings = context.settings
        window = await context.stores.limits.peek(
            budget_key(context), settings.cost_budget_points, settings.cost_budget_window_seconds
        )
    cost = admission.requested if admission is not None and admission.requested else 0
    return RateLimit(
        cost=cost,
        limit=window.limit,
        remaining=window.remaining,
        reset_at=datetime.fromtimestamp(round(window.reset_at), UTC),
    )
