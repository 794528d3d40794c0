"""Start the local catalog in-process: a uvicorn server in a thread, on a port the OS picks.

    with start_catalog() as catalog:
        client = PortClient(catalog.credentials(), installation)
        ...

uvicorn (with httptools) and Starlette were chosen because they serve HTTP APIs, keep connections
alive, start in a thread on an already bound socket (so port 0 works and the URL is known before
the first request) and answer far faster than the client's benchmark needs.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from pydantic import SecretStr
from starlette.types import ASGIApp

from port_aws_exporter.local.catalog.app import MAX_BODY_BYTES, CatalogState, build_app
from port_aws_exporter.local.catalog.faults import FaultInjector, FaultSettings
from port_aws_exporter.local.catalog.ratelimit import RateLimiter, ResetForm
from port_aws_exporter.local.catalog.service import CatalogService
from port_aws_exporter.local.catalog.store import CatalogDatabase
from port_aws_exporter.local.catalog.tokens import TokenIssuer
from port_aws_exporter.port.credentials import PortCredentials

DEFAULT_CLIENT_ID = "local-catalog"
DEFAULT_TOKEN_TTL_SECONDS = 3 * 3600.0
STARTUP_TIMEOUT_SECONDS = 15.0


@dataclass
class RunningCatalog:
    """A local catalog serving at `url` until `stop()` (or the end of a `with` block)."""

    url: str
    client_id: str
    client_secret: str = field(repr=False)
    db_path: Path
    faults: FaultInjector
    service: CatalogService
    tokens: TokenIssuer
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)
    _temp_dir: Path | None = field(default=None, repr=False)

    def credentials(self) -> PortCredentials:
        """Credentials a `PortClient` needs to talk to this catalog."""
        return PortCredentials(client_id=self.client_id, client_secret=SecretStr(self.client_secret), api_url=self.url)

    def reset(self) -> None:
        """Delete every blueprint and entity and clear faults (tokens stay valid)."""
        self.service.reset()
        self.faults.clear()

    def stop(self) -> None:
        """Stop serving, close the database, delete it if it was temporary."""
        if not self._thread.is_alive():
            return
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        self._socket.close()
        self.service.database.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> RunningCatalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_catalog(
    db_path: Path | str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str | None = None,
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    faults: FaultSettings | dict[str, Any] | None = None,
    rate_limit: int = 35_000,
    rate_limit_period_seconds: int = 300,
    rate_limit_reset: ResetForm | str = ResetForm.EPOCH,
    max_body_bytes: int = MAX_BODY_BYTES,
    wrap_app: Callable[[ASGIApp], ASGIApp] | None = None,
) -> RunningCatalog:
    """Serve a local Port-compatible catalog in a background thread and return once it answers.

    `db_path=None` uses a temporary database deleted on `stop()`. `client_secret=None` makes a
    random one (read it from `.client_secret`). `faults` sets fault injection from the start.
    `rate_limit` requests per `rate_limit_period_seconds` are served before 429s, whose
    `x-ratelimit-reset` is an epoch second or, with `rate_limit_reset="relative"`, the seconds
    left in the window. `max_body_bytes` is Port's 1 MiB unless a test needs a smaller limit to
    provoke 413s. `wrap_app` wraps the ASGI application (the contract tests check every request
    and answer against Port's OpenAPI document there).
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="local-catalog-")) if db_path is None else None
    path = Path(db_path) if db_path is not None else Path(temp_dir or ".") / "catalog.db"
    secret = client_secret if client_secret is not None else secrets.token_urlsafe(24)
    settings = FaultSettings.from_json(faults) if isinstance(faults, dict) else faults
    state = CatalogState(
        service=CatalogService(CatalogDatabase(path)),
        tokens=TokenIssuer(client_id, secret, token_ttl_seconds),
        faults=FaultInjector(settings),
        limiter=RateLimiter(rate_limit, rate_limit_period_seconds, ResetForm(rate_limit_reset)),
        max_body_bytes=max_body_bytes,
    )
    listener = _bind(host, port)
    app: ASGIApp = build_app(state)
    config = uvicorn.Config(
        wrap_app(app) if wrap_app is not None else app,
        log_level="warning",
        access_log=False,
        lifespan="on",  # the page closes its database connection at shutdown
        timeout_keep_alive=30,
        http=_http_implementation(),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="local-catalog", daemon=True)
    thread.start()
    _wait_until_started(server, thread)
    bound_host, bound_port = listener.getsockname()[:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningCatalog(
        url=f"http://{url_host}:{bound_port}",
        client_id=client_id,
        client_secret=secret,
        db_path=path,
        faults=state.faults,
        service=state.service,
        tokens=state.tokens,
        _server=server,
        _thread=thread,
        _socket=listener,
        _temp_dir=temp_dir,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every answer waits ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    return listener


def _http_implementation() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the local catalog server stopped while starting; see its log")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the local catalog did not start within {STARTUP_TIMEOUT_SECONDS}s")
        time.sleep(0.01)
