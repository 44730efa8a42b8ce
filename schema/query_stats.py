"""Counts SQL statements and MongoDB commands per operation.

Development responses carry them in `extensions.queryStats`; production only logs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from datasources.instrumentation import QueryStats, start_counting, stop_counting
from logs import get_logger

log = get_logger("agora.query_stats")


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


class QueryStatsInLogs(QueryStatsInResponse):
    def get_results(self) -> dict[str, Any]:
        if self.stats is not None:
            log.info("query stats", **self.stats.as_dict())
        return {}
