"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auth.tokens import InvalidAccessToken, bearer_token, decode_access_token
from datasources.stores import Datastores
from loaders import Loaders, build_loaders
from resolvers.errors import Unauthenticated
from settings import Settings

# A subscription resolves each event with loaders of its own. A WebSocket
# connection shares one Context between its operations, and each operation runs
# in its own task, so the per-event loaders live in a context variable.
_event_loaders: ContextVar[Loaders | None] = ContextVar("event_loaders", default=None)

# Every local subscriber of one event shares that event's loaders: the data is
# loaded once per event, not once per subscriber (authorization stays per
# subscriber; viewer-specific loaders are keyed by viewer). Recent events only.
SHARED_EVENT_LOADERS = 256
_shared: OrderedDict[tuple[int, str, str], Loaders] = OrderedDict()


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in {"MODERATOR", "ADMIN"}

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"


@dataclass
class Context:
    settings: Settings
    stores: Datastores
    request_id: str
    request_loaders: Loaders
    viewer: Viewer | None = None
    # When the access token stops being valid (WebSocket connections outlive it).
    viewer_expires_at: datetime | None = None
    # Why the presented credentials were refused; raised only by fields that need them.
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # The client's address (X-Forwarded-For only from a trusted proxy): rate limits key on it.
    client_address: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def loaders(self) -> Loaders:
        return _event_loaders.get() or self.request_loaders

    def fresh_loaders(self) -> Loaders:
        """New loaders for the current task only (one operation)."""
        loaders = build_loaders(self.stores)
        _event_loaders.set(loaders)
        return loaders

    def event_loaders(self, topic: str, cursor: str) -> Loaders:
        """The loaders of one event, for the current task, shared by its subscribers."""
        key = (id(self.stores), topic, cursor)
        loaders = _shared.get(key)
        if loaders is None:
            loaders = _shared[key] = build_loaders(self.stores)
            while len(_shared) > SHARED_EVENT_LOADERS:
                _shared.popitem(last=False)
        _event_loaders.set(loaders)
        return loaders

    async def authenticate(self, authorization: str | None) -> None:
        """Sets `viewer` (or `auth_error`) from an `Authorization` header value."""
        self.viewer, self.viewer_expires_at, self.auth_error = None, None, None
        token = bearer_token(authorization)
        if token is None:
            return
        if not token:
            self.auth_error = "malformed Authorization header (expected: Bearer <token>)"
            return
        try:
            claims = decode_access_token(self.settings.jwt_key(), token)
        except InvalidAccessToken as error:
            self.auth_error = str(error)
            return
        self.viewer = Viewer(claims.user_id, claims.role)
        self.viewer_expires_at = claims.expires_at

    def _check_expiry(self) -> None:
        # A WebSocket connection outlives its access token; from then on it is refused.
        if self.viewer_expires_at is not None and self.viewer_expires_at <= datetime.now(UTC):
            self.viewer, self.viewer_expires_at = None, None
            self.auth_error = "access token expired"

    def optional_viewer(self) -> Viewer | None:
        """The viewer, None when anonymous; a bad token is an error, not anonymity."""
        self._check_expiry()
        if self.auth_error:
            raise Unauthenticated(self.auth_error)
        return self.viewer

    def reader(self) -> Viewer | None:
        """Who is reading, for visibility: a refused token reads as anonymous."""
        self._check_expiry()
        return None if self.auth_error else self.viewer

    def require_viewer(self) -> Viewer:
        viewer = self.optional_viewer()
        if viewer is None:
            raise Unauthenticated("authentication required")
        return viewer


def new_context(settings: Settings, stores: Datastores, request_id: str, **kwargs: Any) -> Context:
    return Context(settings, stores, request_id, build_loaders(stores), **kwargs)
