"""The catalog's read-only web page: HTML routes beside the API, rendered with Jinja2.

    GET /                                          blueprints and their entity counts
    GET /blueprints/{blueprint}                    its entities: filter, source, sort, pages
    GET /blueprints/{blueprint}/entities/{id}      an entity: properties, relations both ways
    GET /search?q=...                              every blueprint's matches
    GET /_page/version                             {"version": n}: changes when the catalog does
    GET /_page/static/...                          the stylesheet and the auto-refresh script

Only GET routes, over read-only database connections. Loopback clients read without a token;
others give the catalog's credentials (HTTP Basic: client id and secret, which a browser asks for)
or an API bearer token.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from port_aws_exporter.core.installation import installation_of
from port_aws_exporter.local.catalog.errors import CatalogError
from port_aws_exporter.local.catalog.tokens import TokenIssuer
from port_aws_exporter.local.catalog.web import views
from port_aws_exporter.local.catalog.web.readonly import ReadOnlyCatalog

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
REFRESH_SECONDS = 2.0
FRESH_SECONDS = 15.0
_REALM = 'Basic realm="local catalog", charset="UTF-8"'


class CatalogPages:
    """The page's routes over one catalog database."""

    def __init__(self, database_path: Path | str, tokens: TokenIssuer) -> None:
        self.catalog = ReadOnlyCatalog(database_path)
        self.tokens = tokens
        self.templates = _environment()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self._page(self.blueprints), methods=["GET"]),
            Route("/search", self._page(self.search), methods=["GET"]),
            Route("/blueprints/{blueprint}", self._page(self.entities), methods=["GET"]),
            Route("/blueprints/{blueprint}/entities/{entity:path}", self._page(self.entity), methods=["GET"]),
            Route("/_page/version", self._page(self.version), methods=["GET"]),
            Mount("/_page/static", StaticFiles(directory=HERE / "static"), name="page-static"),
        ]

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Close the page's database connection when the server stops."""
        try:
            yield
        finally:
            self.catalog.close()

    # -- pages ---------------------------------------------------------------------------------

    def blueprints(self, request: Request) -> Response:
        version = self.catalog.version()
        with self.catalog.snapshot() as connection:
            summaries = views.blueprint_summaries(connection)
        total = sum(summary.count for summary in summaries)
        return self._render("blueprints.html", version, blueprints=summaries, total=total)

    def entities(self, request: Request) -> Response:
        blueprint = request.path_params["blueprint"]
        table_request = views.TableRequest.from_params(request.query_params)
        version = self.catalog.version()
        with self.catalog.snapshot() as connection:
            table = views.entity_table(connection, blueprint, table_request)
        if table is None:
            return self._not_found(version, f"There is no blueprint {blueprint!r} in this catalog.")
        return self._render("entities.html", version, table=table, sorts=views.SORTS)

    def entity(self, request: Request) -> Response:
        blueprint, identifier = request.path_params["blueprint"], request.path_params["entity"]
        version = self.catalog.version()
        with self.catalog.snapshot() as connection:
            view = views.entity_view(connection, blueprint, identifier)
        if view is None:
            return self._not_found(
                version, f"There is no entity {identifier!r} of blueprint {blueprint!r} in this catalog.", blueprint
            )
        return self._render("entity.html", version, view=view)

    def search(self, request: Request) -> Response:
        text = request.query_params.get("q", "")
        version = self.catalog.version()
        with self.catalog.snapshot() as connection:
            results = views.search_entities(connection, text)
        return self._render("search.html", version, results=results, query=text)

    def version(self, request: Request) -> Response:
        return JSONResponse({"version": self.catalog.version()}, headers={"cache-control": "no-store"})

    # -- plumbing ------------------------------------------------------------------------------

    def _page(self, page: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self._may_read(request):
                return HTMLResponse(
                    "<!doctype html><title>Local catalog</title><p>Give the catalog's client id and secret "
                    "to read this page from another machine.</p>",
                    status_code=401,
                    headers={"www-authenticate": _REALM},
                )
            return await run_in_threadpool(self._guarded, page, request)

        return endpoint

    def _guarded(self, page: Callable[[Request], Response], request: Request) -> Response:
        try:
            return page(request)
        except CatalogError as error:  # a filter the search refuses: say why, as the API would
            return self._error(error.status, error.message, request.path_params.get("blueprint"))
        except Exception as error:  # a bug here must still answer, and be logged
            logger.exception("catalog page failed on %s", request.url.path)
            return self._error(500, f"The page failed: {type(error).__name__}: {error}")

    def _may_read(self, request: Request) -> bool:
        if request.client is not None and _is_loopback(request.client.host):
            return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() == "bearer":
                self.tokens.authenticate(f"Bearer {credentials}")
                return True
            if scheme.lower() == "basic":
                client_id, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
                self.tokens.issue({"clientId": client_id, "clientSecret": secret})
                return True
        except (CatalogError, binascii.Error, UnicodeDecodeError):
            return False
        return False

    def _render(self, template: str, version: int, status: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(
            version=version, refresh_seconds=REFRESH_SECONDS, now=datetime.now(UTC), **context
        )
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def _not_found(self, version: int, message: str, blueprint: str | None = None) -> Response:
        return self._render("error.html", version, status=404, message=message, blueprint=blueprint, code=404)

    def _error(self, status: int, message: str, blueprint: str | None = None) -> Response:
        try:
            version = self.catalog.version()
        except sqlite3.Error:
            version = 0
        return self._render("error.html", version, status=status, message=message, blueprint=blueprint, code=status)


def _is_loopback(host: str) -> bool:
    """Whether a client address is this machine's loopback (`::ffff:127.0.0.1` on a dual-stack socket too).

    >>> [_is_loopback(host) for host in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "192.0.2.7", "testclient")]
    [True, True, True, False, False]
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


# -- what the templates use --------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(entity_url=entity_url, blueprint_url=blueprint_url, search_url=search_url)
    environment.filters.update(
        ago=_ago,
        moment=_moment,
        fresh=_fresh,
        value_kind=value_kind,
        pretty_json=_pretty_json,
        badge=_badge,
        source=_source,
        record_fields=_record_fields,
    )
    return environment


def entity_url(blueprint: str, identifier: str) -> str:
    """The page of an entity (identifiers may hold `/`, `?`, `#`: every character is quoted)."""
    return f"/blueprints/{quote(blueprint, safe='')}/entities/{quote(identifier, safe='')}"


def blueprint_url(blueprint: str, params: Mapping[str, str] | None = None) -> str:
    """The table of a blueprint, with query parameters."""
    query = f"?{urlencode(params)}" if params else ""
    return f"/blueprints/{quote(blueprint, safe='')}{query}"


def search_url(text: str) -> str:
    return f"/search?{urlencode({'q': text})}"


def _parse_moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment(value: Any) -> str:
    """`2026-01-31 12:00:05 UTC` for an ISO timestamp (or a datetime); other values as they are."""
    moment = value if isinstance(value, datetime) else _parse_moment(value)
    return str(value or "") if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: Any, now: datetime) -> str:
    """How long before `now` an ISO timestamp is: `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`."""
    moment = _parse_moment(value)
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _fresh(value: Any, now: datetime) -> bool:
    """Whether an ISO timestamp is less than `FRESH_SECONDS` before `now` (the row is highlighted)."""
    moment = _parse_moment(value)
    return moment is not None and (now - moment).total_seconds() < FRESH_SECONDS


def _source(datasource: Any) -> str:
    """`account · region` of the exporter installation that wrote an entity, else its `$datasource`."""
    installation = installation_of(str(datasource or ""))
    return str(datasource or "") if installation is None else f"{installation.account_id} · {installation.region}"


def value_kind(value: Any, definition: Mapping[str, Any] | None = None) -> str:
    """How a property value is shown: none, yes-no, link, text, tags (AWS `Key`/`Value` pairs),
    records (a list of flat objects, as a small table), chips (a list of plain values) or json."""
    if value is None or value in ("", []):
        return "none"
    if isinstance(value, bool):
        return "yes-no"
    if isinstance(value, str):
        # Only web addresses become links: an entity's value is whatever a writer sent.
        return "link" if value.startswith(("https://", "http://")) else "text"
    if isinstance(value, int | float):
        return "text"
    if isinstance(value, list):
        if all(isinstance(item, dict) and set(item) == {"Key", "Value"} for item in value):
            return "tags"
        if all(isinstance(item, dict) and all(_is_plain(field) for field in item.values()) for item in value):
            return "records"
        if all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in value):
            return "chips"
    return "json"


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _record_fields(records: list[dict[str, Any]]) -> list[str]:
    """The keys of a list of objects, in order of first appearance (the columns of its table)."""
    return list(dict.fromkeys(key for record in records for key in record))


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _badge(title: str, identifier: str) -> Markup:
    """A small coloured mark for a blueprint: the acronym its title starts with (`SNS` Topic), else
    its words' initials (`LF` for Lambda Function)."""
    words = [word for word in title.split() if word.upper() != "AWS"] or title.split() or [identifier]
    if _is_acronym(words[0]):
        letters = words[0]
    else:
        letters = "".join(word if _is_acronym(word) else word[0].upper() for word in words)[:3]
    hue = sum(ord(character) * (index + 1) for index, character in enumerate(identifier)) % 360
    return Markup('<span class="badge" style="--hue: {hue}" aria-hidden="true">{letters}</span>').format(
        hue=hue, letters=letters
    )


def _is_acronym(word: str) -> bool:
    return len(word) <= 3 and word.isalnum() and word.upper() == word
