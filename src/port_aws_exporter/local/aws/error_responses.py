"""AWS-shaped error responses, one shape per wire protocol, so botocore parses the error code.

botocore reads the code from a different place for each protocol (`__type` in JSON, `<Code>` in
XML, the `x-amzn-ErrorType` header for REST-JSON, a CBOR map for RPCv2). Getting it right matters:
its retry modes decide "throttled" from that code, and callers branch on it.
"""

from __future__ import annotations

import json
import struct
import uuid
from xml.sax.saxutils import escape

from port_aws_exporter.local.aws.aws_request import CBOR, EC2, JSON, QUERY, REST_JSON, REST_XML
from port_aws_exporter.local.aws.http_response import HttpResponse

# A 5xx error is the service's fault ("Receiver" in query XML); anything else the caller's ("Sender").
_SERVER_STATUS = 500


def error_response(
    protocol: str, code: str, message: str, *, status: int = 400, json_version: str = "1.1"
) -> HttpResponse:
    """An error response botocore parses as `code` with `message`, for the given wire protocol."""
    request_id = str(uuid.uuid4())
    render = _RENDERERS.get(protocol, _rest_json)
    body, headers = render(code, message, status, request_id, json_version)
    return HttpResponse(status, body, [*headers, ("x-amzn-RequestId", request_id)])


_Rendered = tuple[bytes, list[tuple[str, str]]]


def _json(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = json.dumps({"__type": code, "message": message}).encode()
    return body, [("Content-Type", f"application/x-amz-json-{json_version}"), ("x-amzn-ErrorType", code)]


def _rest_json(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return body, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]


def _fault_type(status: int) -> str:
    return "Receiver" if status >= _SERVER_STATUS else "Sender"


def _query(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{_fault_type(status)}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return body.encode(), [("Content-Type", "text/xml")]


def _ec2(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )
    return body.encode(), [("Content-Type", "text/xml")]


def _rest_xml(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
        "</Error>"
    )
    return body.encode(), [("Content-Type", "application/xml")]


def _cbor(code: str, message: str, status: int, request_id: str, json_version: str) -> _Rendered:
    body = cbor_text_map({"__type": code, "message": message})
    return body, [("Content-Type", "application/cbor"), ("Smithy-Protocol", "rpc-v2-cbor")]


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 1 << 8:
        return bytes([major << 5 | 24, length])
    if length < 1 << 16:
        return bytes([major << 5 | 25]) + struct.pack(">H", length)
    return bytes([major << 5 | 26]) + struct.pack(">I", length)


def cbor_text_map(values: dict[str, str]) -> bytes:
    """CBOR (RFC 8949) encoding of a map of text strings: all an RPCv2 error body needs."""
    encoded = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key.encode(), value.encode()):
            encoded += _cbor_head(3, len(text)) + text
    return bytes(encoded)


_RENDERERS = {JSON: _json, REST_JSON: _rest_json, QUERY: _query, EC2: _ec2, REST_XML: _rest_xml, CBOR: _cbor}
