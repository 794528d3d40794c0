"""The URLs the client sends, as a server behind a path prefix receives them.

The transport builds each request's absolute URL once per path and query (httpx would parse them
again for every request); what reaches the server must be what httpx itself makes of the base URL,
the path and the query: the prefix kept, list values repeated, flags spelled `true`/`false`.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from port_aws_exporter.core.installation import Installation
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.port.transport import PortRequest


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with what the client expects, and keeps its request line."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append(f"{self.command} {self.path}")
        body: dict[str, Any] = {"ok": True, "entities": [], "entity": {"identifier": "x"}}
        if self.path.endswith("/auth/access_token"):
            body = {"accessToken": "token", "expiresIn": 3600}
        encoded = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/port-api", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_requests_keep_the_base_urls_path_and_encode_their_query(recorder: tuple[str, list[str]]) -> None:
    base_url, seen = recorder
    credentials = PortCredentials(client_id="id", client_secret=SecretStr("secret"), api_url=base_url)
    with PortClient(credentials, Installation("123456789012", "us-east-1")) as port:
        for _ in range(2):  # the second time from the built URLs
            port.search_entities({"combinator": "and", "rules": []}, include=["$identifier", "properties.a b"])
            port.upsert_entity("a/b", {"identifier": "x/ü"}, merge=False)
            port.delete_entity("a/b", "x/ü", delete_dependents=False)
    assert seen[0] == "POST /port-api/v1/auth/access_token"
    calls = [
        "POST /port-api/v1/entities/search?exclude_calculated_properties=true&include=%24identifier"
        "&include=properties.a+b",
        "POST /port-api/v1/blueprints/a%2Fb/entities?upsert=true&merge=false&create_missing_related_entities=false",
        "DELETE /port-api/v1/blueprints/a%2Fb/entities/x%2F%C3%BC?delete_dependents=false",
    ]
    assert seen[1:] == calls * 2


def test_equal_query_values_of_other_types_keep_their_own_urls(recorder: tuple[str, list[str]]) -> None:
    base_url, seen = recorder
    credentials = PortCredentials(client_id="id", client_secret=SecretStr("secret"), api_url=base_url)
    with PortClient(credentials, Installation("123456789012", "us-east-1")) as port:
        for value in (True, 1, "1", True):  # True == 1 and hash alike: httpx writes them apart
            port._transport.call(PortRequest("GET", "/v1/blueprints", "blueprint", params={"flag": value}))
    assert seen[1:] == [f"GET /port-api/v1/blueprints?flag={shown}" for shown in ("true", "1", "1", "true")]
