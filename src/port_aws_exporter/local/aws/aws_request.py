"""What an incoming AWS API request is: region, account, wire protocol and operation.

The middleware needs these facts before moto sees the request: to route Cloud Control to our
emulator, to match fault-injection rules, and to shape an error the way the caller's protocol
expects. Everything here is computed lazily, so a request that no rule looks at costs nothing.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs

from port_aws_exporter.local.aws.rest_operations import botocore_service_name, rest_operation_name

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)")

# Protocol names as botocore spells them.
JSON = "json"
QUERY = "query"
EC2 = "ec2"
REST_JSON = "rest-json"
REST_XML = "rest-xml"
CBOR = "smithy-rpc-v2-cbor"

_REST_XML_SERVICES = frozenset({"s3", "s3control", "route53", "cloudfront"})


@dataclass
class AwsRequest:
    """One request as the WSGI server received it, with its AWS facts derived on demand."""

    environ: dict[str, Any]
    _body: bytes | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        """The HTTP method."""
        return str(self.environ.get("REQUEST_METHOD", "GET"))

    @property
    def path(self) -> str:
        """The URL path, without the query string."""
        return str(self.environ.get("PATH_INFO", "/"))

    @property
    def query_string(self) -> str:
        """The raw query string."""
        return str(self.environ.get("QUERY_STRING", ""))

    def header(self, name: str) -> str:
        """A request header ('' when absent)."""
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        return str(self.environ.get(key, ""))

    @property
    def body(self) -> bytes:
        """The request body, read once; the WSGI input is replaced so the next app can read it again."""
        if self._body is None:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
            stream = self.environ["wsgi.input"]
            self._body = stream.read(length) if length else b""
            self.environ["wsgi.input"] = io.BytesIO(self._body)
        return self._body

    @property
    def base_url(self) -> str:
        """`scheme://host:port` as the client addressed the server (moto builds SQS URLs the same way)."""
        scheme = self.environ.get("wsgi.url_scheme", "http")
        host = self.environ.get("HTTP_HOST") or (
            f"{self.environ.get('SERVER_NAME', '127.0.0.1')}:{self.environ.get('SERVER_PORT', '80')}"
        )
        return f"{scheme}://{host}"

    @cached_property
    def _credential_scope(self) -> tuple[str, str, str] | None:
        """(access key id, region, signing service) from SigV4 auth, or from a presigned URL."""
        match = _CREDENTIAL.search(self.header("Authorization"))
        if match:
            return match.group(1), match.group(2), match.group(3)
        credential = parse_qs(self.query_string).get("X-Amz-Credential")
        if credential:
            parts = credential[0].split("/")
            if len(parts) >= 5:
                return parts[0], parts[2], parts[3]
        return None

    @property
    def region(self) -> str:
        """The region the request was signed for (us-east-1 when unsigned)."""
        scope = self._credential_scope
        return scope[1] if scope else DEFAULT_REGION

    @property
    def signing_service(self) -> str:
        """The SigV4 service name (`sqs`, `lambda`, `cloudcontrolapi`, ...), '' when unsigned."""
        scope = self._credential_scope
        return scope[2] if scope else ""

    @property
    def access_key_id(self) -> str:
        """The access key id the request was signed with ('' when unsigned). Never logged."""
        scope = self._credential_scope
        return scope[0] if scope else ""

    @cached_property
    def account_id(self) -> str:
        """The account moto serves this request from, decided the way moto decides it."""
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        explicit = self.header("x-moto-account-id")
        if explicit:
            return explicit
        if not self.access_key_id:
            return DEFAULT_ACCOUNT_ID
        from moto.iam.models import get_account_id_from

        return str(get_account_id_from(self.access_key_id))

    @property
    def json_target(self) -> str:
        """The `X-Amz-Target` header of a JSON-protocol call (`CloudApiService.GetResource`)."""
        return self.header("X-Amz-Target")

    @cached_property
    def protocol(self) -> str:
        """The wire protocol, as botocore names it; decides the shape of an error body."""
        if self.json_target:
            return JSON
        if self.header("Smithy-Protocol").lower() == "rpc-v2-cbor":
            return CBOR
        if self._query_action:
            return EC2 if self.signing_service == "ec2" else QUERY
        return REST_XML if self.signing_service in _REST_XML_SERVICES else REST_JSON

    @cached_property
    def _query_action(self) -> str:
        """`Action=` of a query-protocol call, from the query string or the form body."""
        action = parse_qs(self.query_string).get("Action")
        if action:
            return action[0]
        if "x-www-form-urlencoded" in self.header("Content-Type"):
            form = parse_qs(self.body.decode("utf-8", errors="replace"))
            if form.get("Action"):
                return form["Action"][0]
        return ""

    @cached_property
    def operation(self) -> str:
        """The API operation name (`GetResource`, `DescribeInstances`, `GetFunction`), '' if unknown."""
        if self.json_target:
            return self.json_target.rpartition(".")[2]
        if self.protocol == CBOR:
            match = _CBOR_PATH.match(self.path)
            return match.group(2) if match else ""
        if self._query_action:
            return self._query_action
        return rest_operation_name(self.signing_service, self.method, self.path, self.query_string, self._header_names)

    @property
    def _header_names(self) -> frozenset[str]:
        return frozenset(key[5:].lower().replace("_", "-") for key in self.environ if key.startswith("HTTP_"))

    @cached_property
    def target(self) -> str:
        """The name fault rules match first.

        JSON protocol: the `X-Amz-Target` header (`AmazonSQS.ReceiveMessage`); CBOR: `Service.Operation`
        from the path; every other protocol: `service:Operation` (`ec2:DescribeInstances`).
        """
        if self.json_target:
            return self.json_target
        if self.protocol == CBOR:
            match = _CBOR_PATH.match(self.path)
            if match:
                return f"{match.group(1)}.{match.group(2)}"
        return f"{self.signing_service}:{self.operation}"

    @cached_property
    def target_names(self) -> tuple[str, ...]:
        """Every name a rule may use for this call: the target, and `service:Operation` with the
        signing name and with botocore's service name (`monitoring:ListMetrics`, `cloudwatch:ListMetrics`)."""
        names = [self.target]
        for service in (self.signing_service, botocore_service_name(self.signing_service)):
            alias = f"{service}:{self.operation}"
            if alias not in names:
                names.append(alias)
        return tuple(names)
