"""An event recorded with the write that causes it (the transactional outbox), until it
is on the bus.

`where` names the store holding the record: the SQL table `event_outbox`, or the
document written (its `event` field) in one of the document collections.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

RELATIONAL = "relational"


def new_event_id() -> str:
    """32 hex digits that sort by creation time (milliseconds first), so the oldest
    recorded events are read first, by id, from an index."""
    return f"{time.time_ns() // 1_000_000:012x}{uuid.uuid4().hex[:20]}"


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    topic: str
    data: dict[str, Any]
    where: str
    # Milliseconds since the epoch: the relay publishes what it finds in this order.
    at: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    def document(self) -> dict[str, Any]:
        """As stored in a document's `event` field."""
        return {"id": self.id, "topic": self.topic, "data": self.data, "at": self.at}

    @classmethod
    def from_document(cls, value: Any, where: str) -> OutboxEntry | None:
        if not isinstance(value, dict):
            return None
        event_id, topic, data, at = (value.get(k) for k in ("id", "topic", "data", "at"))
        if not (isinstance(event_id, str) and isinstance(topic, str) and isinstance(data, dict)):
            return None
        return cls(event_id, topic, data, where, at if isinstance(at, int) else 0)
