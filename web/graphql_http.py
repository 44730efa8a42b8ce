"""GraphQL over HTTP (GET and POST on /graphql), as the GraphQL-over-HTTP specification
describes it: `application/graphql-response+json` when the client accepts it (request
errors then answer 4xx), `application/json` otherwise (200 for every well-formed
request).

Before a document runs: the body is read whole (bounded in size and time by
`web.body_limit`) and must be a JSON object of the right shape; the client's request
rate is limited per address and per account; persisted documents are resolved; the
operation is admitted (`schema.admission`) and then executed under a time limit.
Responses are encoded once, with orjson.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from datasources.failures import classify
from datasources.rate_limits import Window
from datasources.stores import Datastores
from logs import get_logger
from resolvers.context import new_context
from schema import AgoraSchema
from schema.admission import begin_admission
from settings import Settings
from telemetry import metrics
from web.body_limit import body_read
from web.client_address import ClientAddresses
from web.graphiql import graphiql_page
from web.persisted_documents import (
    PersistedDocuments,
    Refusal,
    load_manifest,
    operation_names,
)
from web.request_id import current_request_id
from web.time_limits import time_limit

log = get_logger("agora.http")

# Where GraphQL over HTTP is served, and by which methods (the app's route, its lane and
# the request metrics all read these).
GRAPHQL_PATH = "/graphql"
GRAPHQL_METHODS = ("GET", "POST")
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
RATE_WINDOW_SECONDS = 60
# The operation types each method may carry (hashing an enum member is a Python call:
# made once, not per request).
_BY_GET = frozenset({OperationType.QUERY})
_BY_POST = frozenset(OperationType)


class RequestError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(
        self, status: int, message: str, code: str = "BAD_REQUEST", **headers: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers
        self.extensions: dict[str, Any] = {}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when none is acceptable."""
    if not accept:
        return JSON
    offered: list[tuple[float, str]] = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            offered.append((quality + 0.001, GRAPHQL_RESPONSE))  # preferred on a tie
        elif media in {JSON, "application/*", "*/*"}:
            offered.append((quality, JSON))
    if not offered:
        return None
    return max(offered)[1]


def wants_ide(request: Request) -> bool:
    if request.method != "GET":
        return False
    return "text/html" in (header(request, b"accept") or "") and "query" not in request.query_params


def header(request: Request, name: bytes) -> str | None:
    """The value of the request's header `name` (lower case), None when it has none.
    Starlette's `headers.get` makes a header map and raises and catches a KeyError for
    a header that is not there: a microsecond or so, for each of three headers that a
    request seldom sends (Accept, Authorization) or always does (Content-Type)."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _decode_json_parameter(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, f"the {name} parameter is not valid JSON") from None


async def read_parameters(request: Request) -> dict[str, Any]:
    """The request's GraphQL parameters, checked for shape; RequestError when malformed."""
    if request.method == "GET":
        query_params = request.query_params
        parameters: dict[str, Any] = {
            "query": query_params.get("query"),
            "operationName": query_params.get("operationName") or None,
            "variables": _decode_json_parameter(query_params.get("variables"), "variables"),
            "extensions": _decode_json_parameter(query_params.get("extensions"), "extensions"),
            "documentId": query_params.get("documentId"),
        }
    else:
        media_type = (header(request, b"content-type") or "").split(";")[0].strip().lower()
        if media_type not in {JSON, GRAPHQL_RESPONSE}:
            raise RequestError(
                415,
                "POST bodies must be application/json",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        body = body_read(request.scope)
        if body is None:  # not under the edge
            body = await request.body()
        try:
            parameters = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            reason = str(error).split(":")[0]
            raise RequestError(400, f"the body is not valid JSON: {reason}") from None
        if not isinstance(parameters, dict):
            raise RequestError(400, "the body must be a JSON object with a `query`")
    _check_types(parameters)
    return parameters


_PARAMETER_TYPES = {
    "query": (str, "a string"),
    "operationName": (str, "a string"),
    "variables": (dict, "an object"),
    "extensions": (dict, "an object"),
    "documentId": (str, "a string"),
}


def _check_types(parameters: Mapping[str, Any]) -> None:
    for name, (kind, described) in _PARAMETER_TYPES.items():
        value = parameters.get(name)
        if value is not None and not isinstance(value, kind):
            raise RequestError(400, f"`{name}` must be {described} or null")


class GraphQLOverHTTP:
    def __init__(self, schema: AgoraSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.addresses = ClientAddresses(settings.trusted_proxies)
        manifest = None
        if settings.trusted_documents_file is not None:
            manifest = load_manifest(settings.trusted_documents_file)
            metrics.OPERATION_NAMES.trust(operation_names(manifest))
        self.persisted = PersistedDocuments(
            max_entries=settings.persisted_queries_max_entries,
            manifest=manifest,
            trusted_only=settings.trusted_documents_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The route's ASGI app. Starlette would wrap a request-to-response function in
        an exception handler of its own per request; `respond` answers every exception."""
        response = await self.respond(Request(scope, receive, send))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        if wants_ide(request):
            if self.settings.is_production:
                return Response(status_code=404)
            return graphiql_page()
        media_type = negotiate(header(request, b"accept"))
        if media_type is None:
            return _error_response(
                JSON,
                RequestError(
                    406,
                    "responses are application/graphql-response+json or application/json",
                    "NOT_ACCEPTABLE",
                ),
            )
        try:
            return await self._handle(request, media_type)
        except RequestError as error:
            return _error_response(media_type, error)
        except Exception as error:
            # Outside execution (authentication, rate limits): the same masking as in it.
            request_id = current_request_id()
            if classify(error) is not None:
                log.warning("datastore failure before execution", error=type(error).__name__)
                failed = RequestError(
                    503,
                    "a datastore is unavailable; try again shortly",
                    "SERVICE_UNAVAILABLE",
                    **{"retry-after": "1"},
                )
            else:
                log.error("unhandled error", exc_info=error)
                failed = RequestError(500, "Internal server error", "INTERNAL_SERVER_ERROR")
            failed.extensions["requestId"] = request_id
            return _error_response(media_type, failed)

    async def _handle(self, request: Request, media_type: str) -> Response:
        parameters = await read_parameters(request)
        stores: Datastores = request.app.state.stores
        client = request.scope.get("client")  # (host, port); Starlette's `client` is made per read
        peer = client[0] if client else None
        address = self.addresses.of(peer, request.headers)
        context = new_context(
            self.settings, stores, current_request_id(), request=request, client_address=address
        )
        await context.authenticate(header(request, b"authorization"))
        window = await self._request_rate(stores, address, context.viewer)
        if not window.allowed:
            raise RequestError(
                429,
                f"too many requests; try again in {window.retry_after} s",
                "RATE_LIMITED",
                **_rate_headers(window),
            )
        document = self.persisted.resolve(
            parameters.get("query"), parameters.get("extensions"), parameters.get("documentId")
        )
        if isinstance(document, Refusal):
            raise RequestError(document.status, document.message, document.code)
        admission = begin_admission()
        # Subscriptions sent by POST reach OperationRules, which says to use WebSocket.
        allowed = _BY_POST if request.method == "POST" else _BY_GET
        try:
            async with time_limit(self.settings.execution_timeout_seconds):
                result = await self.schema.execute(
                    document,
                    variable_values=parameters.get("variables"),
                    context_value=context,
                    operation_name=parameters.get("operationName"),
                    allowed_operation_types=allowed,
                    operation_extensions=parameters.get("extensions"),
                )
        except TimeoutError:
            log.warning("operation timed out", seconds=self.settings.execution_timeout_seconds)
            payload: dict[str, Any] = {
                "data": None,
                "errors": [
                    {
                        "message": "the operation took longer than "
                        f"{self.settings.execution_timeout_seconds:g} s and was stopped",
                        "extensions": {"code": "TIMEOUT", "requestId": context.request_id},
                    }
                ],
            }
            status = 200 if admission.executed else 503
            return _response(payload, status, media_type, _rate_headers(window))
        except InvalidOperationTypeError as error:
            raise RequestError(
                405, error.as_http_error_reason(request.method), "METHOD_NOT_ALLOWED", allow="POST"
            ) from None
        except CannotGetOperationTypeError as error:
            raise RequestError(400, error.as_http_error_reason(), "BAD_USER_INPUT") from None
        except MissingQueryError:
            raise RequestError(400, "no GraphQL document in the request") from None
        payload = {}
        if admission.executed:
            payload["data"] = result.data
        if result.errors:
            payload["errors"] = [_formatted(error) for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        status = 200
        headers = _rate_headers(window)
        if admission.retry_after is not None:
            status = 429
            headers["retry-after"] = str(admission.retry_after)
        elif not admission.executed and media_type == GRAPHQL_RESPONSE:
            status = 400
        return _response(payload, status, media_type, headers)

    async def _request_rate(self, stores: Datastores, address: str, viewer: Any) -> Window:
        """Signed-in requests count against their account, anonymous ones against their
        address (so many users behind one NAT do not share one allowance)."""
        if viewer is None:
            return await stores.limits.hit(
                f"requests:address:{address}",
                self.settings.rate_limit_per_address,
                RATE_WINDOW_SECONDS,
            )
        return await stores.limits.hit(
            f"requests:user:{viewer.user_id}",
            self.settings.rate_limit_per_account,
            RATE_WINDOW_SECONDS,
        )


def _formatted(error: GraphQLError) -> dict[str, Any]:
    return error.formatted  # type: ignore[return-value]


def _rate_headers(window: Window) -> dict[str, str]:
    headers = {
        "ratelimit-limit": str(window.limit),
        "ratelimit-remaining": str(window.remaining),
        "ratelimit-reset": str(max(round(window.reset_at - time.time()), 0)),
    }
    if not window.allowed:
        headers["retry-after"] = str(window.retry_after)
    return headers


class _Encoded(Response):
    """A JSON response with its headers set as they are sent: the headers given (names in
    lower case), then the length and the type. Starlette's Response would encode the
    same, looking for the length and the type among the headers first."""

    def __init__(self, body: bytes, status: int, media_type: str, headers: dict[str, str]):
        self.status_code = status
        self.background = None
        self.body = body
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        raw.append((b"content-type", _CONTENT_TYPES[media_type]))
        self.raw_headers = raw


_CONTENT_TYPES = {kind: f"{kind}; charset=utf-8".encode() for kind in (JSON, GRAPHQL_RESPONSE)}


def _response(
    payload: dict[str, Any], status: int, media_type: str, headers: dict[str, str]
) -> Response:
    return _Encoded(orjson.dumps(payload), status, media_type, headers)


def _error_response(media_type: str, error: RequestError) -> Response:
    extensions = {"code": error.code, **error.extensions}
    payload = {"errors": [{"message": error.message, "extensions": extensions}]}
    status = error.status
    if media_type == JSON and status == 400 and error.code in {"BAD_USER_INPUT"}:
        status = 200
    return _response(payload, status, media_type, dict(error.headers))
