"""Counts SQL statements and MongoDB commands per operation.

Development responses carry them in `extensions.queryStats`; in production the request's
access line carries them (`schema.access_log`), and the metrics their histograms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from datasources.instrumentation import QueryStats, start_counting, stop_counting


class QueryStatsInResponse(SchemaExtension):
    stats: QueryStats | None = None

    def on_operation(self) -> Iterator[None]:
        self.stats, token = start_counting()
        try:
            yield
        finally:
            stop_counting(token)

    def get_results(self) -> dict[str, Any]:
        return {"queryStats": self.stats.as_dict()} if self.stats else {}


class QueryStatsCounted(QueryStatsInResponse):
    def get_results(self) -> dict[str, Any]:
        return {}
