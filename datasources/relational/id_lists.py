"""Reads of the rows whose id is one of a list, in the form each database runs best.

SQLite: an expanding `IN (?, ?, …)`. PostgreSQL: `= ANY($1::INTEGER[])`, one array
parameter. An expanding IN is rendered again at every execution, one bound cast per
id, and that rendering was most of the CPU of a loader's read of 50 users; it also
makes a distinct statement text (and a distinct prepared statement) per list length.
Both forms are served by the id's index (tests/test_index_plans.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVarTuple

from sqlalchemy import ARRAY, Select, any_, bindparam
from sqlalchemy.orm import InstrumentedAttribute

from datasources.relational.direct_reads import DirectRead

PARAMETER = "ids"
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class ByIds(Generic[*Ts]):
    """One read in both forms; its parameter is `ids`, a list."""

    expanding: DirectRead[*Ts]
    array: DirectRead[*Ts]

    def read(self, is_sqlite: bool) -> DirectRead[*Ts]:
        return self.expanding if is_sqlite else self.array


def by_ids(query: Select[*Ts], column: InstrumentedAttribute[int]) -> ByIds[*Ts]:
    return ByIds(
        expanding=DirectRead(query.where(column.in_(bindparam(PARAMETER, expanding=True)))),
        array=DirectRead(
            query.where(column == any_(bindparam(PARAMETER, type_=ARRAY(column.type))))
        ),
    )
