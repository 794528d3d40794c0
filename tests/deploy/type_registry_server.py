"""A CloudFormation endpoint that answers `DescribeType` only, on 127.0.0.1, for the type-registry path.

moto has no `DescribeType`. This server speaks CloudFormation's query protocol (form-encoded POST,
XML answers, `TypeNotFoundException` errors) so boto3's real client, parser and error handling run.
Schemas are built from `cfn-handlers.json` (handlers and primary identifier of every public type).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class TypeRegistryServer:
    """Serves DescribeType for the types of `handlers` (cfn-handlers.json's shape)."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                server.requests.append(form)
                status, body = server.answer(form)
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TypeRegistryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, form: dict[str, str]) -> tuple[int, str]:
        if form.get("Action") != "DescribeType":
            return 400, _error("InvalidAction", f"{form.get('Action')} is not served here")
        name = form.get("TypeName", "")
        entry = self.handlers.get(name)
        if entry is None:
            return 404, _error("TypeNotFoundException", f"The type '{name}' cannot be found.")
        schema = {
            "typeName": name,
            "primaryIdentifier": entry.get("primaryIdentifier", []),
            "handlers": {
                handler: {"permissions": entry[handler]["permissions"]}
                for handler in ("list", "read")
                if entry.get(handler)
            },
        }
        return 200, (
            f'<DescribeTypeResponse xmlns="{_NAMESPACE}"><DescribeTypeResult>'
            f"<TypeName>{escape(name)}</TypeName><Type>RESOURCE</Type>"
            f"<Schema>{escape(json.dumps(schema))}</Schema>"
            "</DescribeTypeResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata>"
            "</DescribeTypeResponse>"
        )


def _error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{_NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>"
    )
