"""How a Port request travels: token, pooled connection, concurrency bound, retries, errors.

`PortTransport.call` is the one place where a request is authenticated (token cached, renewed in
time and once on a 401), sent (within the process's `RequestBudget`, connection pool, timeout, at
most `max_concurrency` in flight), retried (`RetryPolicy`) and turned into a `PortApiError` when it
fails.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from port_aws_exporter.port.budget import RequestBudget
from port_aws_exporter.port.counters import ClientCounters
from port_aws_exporter.port.credentials import PortCredentials
from port_aws_exporter.port.errors import PortApiError, PortAuthError
from port_aws_exporter.port.retry import RetryPolicy, retry_after_hint
from port_aws_exporter.port.token_cache import TokenCache

logger = logging.getLogger(__name__)

T = TypeVar("T")

AUTH_PATH = "/v1/auth/access_token"
# Request URLs kept built (path and query): the bulk writes use a handful, the single-entity calls more.
URL_CACHE_SIZE = 512


@dataclass(frozen=True)
class PortRequest:
    """One API call: what to send, how to count it, which answers are success."""

    method: str
    path: str
    kind: str
    params: Mapping[str, Any] | None = None
    body: bytes | None = None
    accept: tuple[int, ...] = (200, 201)
    not_found_is_none: bool = False


class PortTransport:
    """Authenticated, pooled, bounded and retried HTTP to one Port API base URL."""

    def __init__(
        self,
        credentials: PortCredentials,
        *,
        user_agent: str,
        timeout: float,
        retry_policy: RetryPolicy,
        max_concurrency: int,
        counters: ClientCounters,
        budget: RequestBudget,
    ) -> None:
        self.credentials = credentials
        self.budget = budget
        self.user_agent = user_agent
        self.timeout = timeout
        self.retry_policy = retry_policy
        self.counters = counters
        limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
        self._http = httpx.Client(
            base_url=credentials.api_url,
            # No Nagle delay between a request's header and body writes.
            transport=httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], limits=limits),
            timeout=timeout,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )
        self._in_flight = threading.BoundedSemaphore(max_concurrency)
        self._tokens = TokenCache(self._fetch_token)
        # httpx parses and checks a relative path and its query anew for every request, about a
        # tenth of a millisecond, while a whole 20-entity bulk write costs about one: the same
        # path and query are sent over and over, so their absolute URL is built once.
        self._url = functools.lru_cache(maxsize=URL_CACHE_SIZE)(self._build_url)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def with_user_agent(self, user_agent: str) -> PortTransport:
        """This transport (token, connections, concurrency bound, counters) sending another User-Agent."""
        view = copy.copy(self)
        view.user_agent = user_agent
        return view

    def call(self, request: PortRequest) -> httpx.Response | None:
        """Send with authentication and retries; None for an accepted 404.

        A token fetch is part of the attempt that needs it, so these retries cover it too: the
        attempts and the budget bound the whole call.
        """
        return self.retry_policy.run(lambda: self._attempt(request), self._log_retry)

    def _attempt(self, request: PortRequest) -> httpx.Response | None:
        token = self._tokens.get()
        response = self._send(request, token)
        if response.status_code == 401:
            # The token expired early or was revoked: renew it once, transparently.
            self.counters.count_refresh_on_401()
            self._tokens.invalidate(token)
            response = self._send(request, self._tokens.get())
            if response.status_code == 401:
                raise error_from(request, response, PortAuthError, transient=False)
        if response.status_code in request.accept:
            return response
        if response.status_code == 404 and request.not_found_is_none:
            return None
        raise error_from(request, response, PortApiError)

    def _send(self, request: PortRequest, token: str | None) -> httpx.Response:
        headers = {"User-Agent": self.user_agent}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        self.counters.count_request(request.kind)
        # Every attempt is a request Port counts: retries and token fetches spend the budget too.
        self.budget.acquire()
        with self._in_flight:
            try:
                url = self._url(request.path, _query_pairs(request.params))
                response = self._http.request(request.method, url, content=request.body, headers=headers)
            except httpx.TimeoutException as error:
                message = f"no answer within {self.timeout}s ({type(error).__name__})"
                raise PortApiError(request.method, request.path, None, "timeout", message, transient=True) from error
            except httpx.TransportError as error:
                message = f"{type(error).__name__}: {error}"
                raise PortApiError(
                    request.method, request.path, None, "connection_error", message, transient=True
                ) from error
        self.budget.observe(response.headers)
        return response

    def _build_url(self, path: str, query: tuple[tuple[str, Any, type], ...]) -> httpx.URL:
        """The absolute URL httpx sends for `path` and `query` (the client's base URL joined its way)."""
        return self._http.build_request("GET", path, params=[(name, value) for name, value, _ in query]).url

    def _fetch_token(self) -> tuple[str, float]:
        """One token request, not retried here: `call` retries the attempt that needed it."""
        secret = self.credentials.client_secret.get_secret_value()
        request = PortRequest(
            "POST",
            AUTH_PATH,
            "auth",
            body=encode({"clientId": self.credentials.client_id, "clientSecret": secret}),
        )
        self.counters.count_auth()
        response = self._send(request, None)
        if response.status_code in (400, 401, 403, 422):
            raise error_from(request, response, PortAuthError, transient=False)
        if response.status_code != 200:
            raise error_from(request, response, PortApiError)
        body = response_json(response)
        token, expires_in = body.get("accessToken"), body.get("expiresIn")
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise PortAuthError(request.method, request.path, 200, "invalid_response", "no accessToken/expiresIn")
        return token, float(expires_in)

    def _log_retry(self, error: PortApiError, delay: float) -> None:
        self.counters.count_retry(error.status)
        logger.warning(
            "Port %s %s answered %s; retrying in %.2fs",
            error.method,
            error.path,
            error.status if error.status is not None else error.error,
            delay,
        )


def _query_pairs(params: Mapping[str, Any] | None) -> tuple[tuple[str, Any, type], ...]:
    """The query as (name, value, type) in httpx's order (a list value gives one pair per item): a
    cache key that encodes as the mapping does. The type is part of it because `True == 1` while
    httpx writes `true` and `1`."""
    if not params:
        return ()
    pairs: list[tuple[str, Any, type]] = []
    for name, value in params.items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, item, type(item)) for item in items)
    return tuple(pairs)


def encode(value: Mapping[str, Any]) -> bytes:
    """A request body: compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def response_json(response: httpx.Response | None) -> dict[str, Any]:
    """The answer's JSON object, or a permanent `invalid_response` error."""
    assert response is not None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _invalid_response(response, "the answer is not a JSON object")
    return body


def response_field(
    response: httpx.Response | None, name: str, kind: type[T], body: Mapping[str, Any] | None = None
) -> T:
    """`body[name]` (body parsed from `response` unless given), checked to be a `kind`."""
    assert response is not None
    value = (response_json(response) if body is None else body).get(name)
    if isinstance(value, kind):
        return value
    raise _invalid_response(response, f"the answer has no {name!r} {kind.__name__}")


def error_from(
    request: PortRequest,
    response: httpx.Response,
    error_type: type[PortApiError],
    transient: bool | None = None,
) -> PortApiError:
    """The error for a refused request, with Port's `error` and `message` and any retry hint."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error: str | None = None
    message: str | None = None
    if isinstance(body, dict):
        error = str(body["error"]) if body.get("error") is not None else None
        message = str(body["message"]) if body.get("message") is not None else None
    elif response.text:
        message = response.text[:200]
    return error_type(
        request.method,
        request.path,
        response.status_code,
        error,
        message,
        transient=transient,
        retry_after=retry_after_hint(response.status_code, response.headers),
    )


def _invalid_response(response: httpx.Response, message: str) -> PortApiError:
    return PortApiError(
        response.request.method,
        response.request.url.path,
        response.status_code,
        "invalid_response",
        message,
        transient=False,
    )
