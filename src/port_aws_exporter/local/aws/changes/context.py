"""What a change of one kind works with: clients on the local endpoint, and the calls it records.

Every state-changing call goes through `ChangeContext.call`, which makes it and records it as
CloudTrail would, failed calls included (CloudTrail records those too, with `errorCode`). Reads
(`ChangeContext.read`) are not recorded: EventBridge does not deliver read-only management events
to rules in the usual `ENABLED` state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from port_aws_exporter.local.aws.changes.recorded_call import (
    RecordedCall,
    cloudtrail_event_name,
    cloudtrail_parameters,
)
from port_aws_exporter.local.aws.service_clients import local_client

__all__ = ["GLOBAL_SERVICE_REGION", "ChangeContext", "ChangeError", "ResponseRecord"]

# CloudTrail delivers the events of global services (IAM) to EventBridge in us-east-1 only.
GLOBAL_SERVICE_REGION = "us-east-1"
_GLOBAL_SERVICES = frozenset({"iam"})
# CloudTrail's event source per botocore service, where it is not `<service>.amazonaws.com`.
_EVENT_SOURCES = {"elbv2": "elasticloadbalancing.amazonaws.com", "stepfunctions": "states.amazonaws.com"}

ResponseRecord = Callable[[dict[str, Any]], dict[str, Any] | None]


class ChangeError(RuntimeError):
    """A change that could not be made; the message says which call failed and why.

    `result` holds what was done before it failed, including the event of the failed call (a real
    account's CloudTrail records failed calls too), when one was put.
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class ChangeContext:
    """The endpoint, region and account a change runs in, and what it has done so far."""

    endpoint_url: str
    region: str
    account_id: str
    stamp: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    calls: list[RecordedCall] = field(default_factory=list)
    native_events: list[dict[str, Any]] = field(default_factory=list)
    # A member account of the local organisation (None: the endpoint's default account).
    member_account: str | None = None

    def client(self, service: str) -> Any:
        """A boto3 client of `service` in this change's region (IAM: its global region), in its account."""
        return local_client(self.endpoint_url, service, self._region_of(service), self.member_account)

    def read(self, service: str, method: str, params: Mapping[str, Any], *, missing: str | None = None) -> Any:
        """A read-only call, not recorded. `missing`: the ChangeError message when it fails."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client(service), method)(**params)
        except ClientError as error:
            reason = missing or f"{service} {method} failed"
            raise ChangeError(f"{reason}: {_error_text(error)}") from error

    def call(
        self,
        service: str,
        method: str,
        params: Mapping[str, Any],
        *,
        request_record: Mapping[str, Any] | None = None,
        response_record: ResponseRecord | None = None,
    ) -> dict[str, Any]:
        """Make a state-changing call and record it (failed or not); raise ChangeError when it fails.

        `request_record` / `response_record` give the CloudTrail shape where it is not the API's own
        (S3 and EC2 record their own way); by default it comes from botocore's model.
        """
        from botocore.exceptions import ClientError

        client = self.client(service)
        operation = client.meta.method_to_api_mapping[method]
        event_source = _EVENT_SOURCES.get(service, f"{service}.amazonaws.com")
        event_name = cloudtrail_event_name(event_source, service, operation)
        region = self._region_of(service)
        request = (
            dict(request_record) if request_record is not None else cloudtrail_parameters(service, operation, params)
        )
        try:
            response: dict[str, Any] = getattr(client, method)(**params)
        except ClientError as error:
            details = error.response.get("Error", {})
            self.calls.append(
                RecordedCall(
                    event_source,
                    event_name,
                    region,
                    request,
                    None,
                    error_code=str(details.get("Code", "Unknown")),
                    error_message=str(details.get("Message", "")),
                )
            )
            raise ChangeError(f"{operation} failed: {_error_text(error)}") from error
        response = {key: value for key, value in response.items() if key != "ResponseMetadata"}
        elements = (
            response_record(response)
            if response_record is not None
            else cloudtrail_parameters(service, operation, response, output=True)
        )
        self.calls.append(RecordedCall(event_source, event_name, region, request, elements))
        return response

    def _region_of(self, service: str) -> str:
        return GLOBAL_SERVICE_REGION if service in _GLOBAL_SERVICES else self.region


def _error_text(error: Any) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}".rstrip(": ")
