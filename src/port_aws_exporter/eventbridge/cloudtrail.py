"""CloudTrail management events as EventBridge delivers them ("AWS API Call via CloudTrail").

    >>> event = cloudtrail_event("lambda.amazonaws.com", "CreateFunction20150331", region="eu-west-1",
    ...                          account_id="123456789012", request_parameters={"functionName": "fn"},
    ...                          response_elements={"functionName": "fn"})
    >>> event["source"], event["detail"]["eventName"]
    ('aws.lambda', 'CreateFunction20150331')

The envelope and the record follow CloudTrail's record format (eventVersion 1.09): the EventBridge
`source` is "aws." plus the first label of the event source, `time` is the call's time, `resources`
is empty, and the CloudTrail record is `detail`. A failed call carries `errorCode`/`errorMessage`
and, unless told otherwise, a null `responseElements`, as CloudTrail records it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from port_aws_exporter.eventbridge.json_text import utc_timestamp

__all__ = ["CLOUDTRAIL_DETAIL_TYPE", "cloudtrail_event", "eventbridge_source"]

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EVENT_VERSION = "1.09"
_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet")
_UNSET: Any = object()


def eventbridge_source(event_source: str) -> str:
    """The EventBridge `source` of a CloudTrail event source: `elasticfilesystem.amazonaws.com` ->
    `aws.elasticfilesystem`."""
    return "aws." + event_source.split(".", 1)[0]


def cloudtrail_event(
    event_source: str,
    event_name: str,
    *,
    region: str,
    account_id: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None = _UNSET,
    error_code: str | None = None,
    error_message: str | None = None,
    event_time: datetime | str | None = None,
    event_id: str | None = None,
    request_id: str | None = None,
    read_only: bool | None = None,
    user_identity: Mapping[str, Any] | None = None,
    source_ip_address: str = "203.0.113.10",
    user_agent: str = "port-aws-exporter",
    management_event: bool = True,
    additional_event_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An EventBridge event for one CloudTrail-recorded API call.

    `event_source` is CloudTrail's (`lambda.amazonaws.com`) and `event_name` the recorded name,
    versioned where the service versions it (`CreateFunction20150331`). `response_elements` defaults
    to None for a failed call (`error_code` given); it is required otherwise. `event_time` defaults
    to now, `event_id`/`request_id` to fresh UUIDs, `read_only` to whether the name starts like a read
    (Get, List, Describe...), `user_identity` to an assumed role of the account.
    """
    if response_elements is _UNSET:
        if error_code is None:
            raise TypeError("cloudtrail_event() needs response_elements for a successful call")
        response_elements = None
    time = _time_text(event_time)
    detail: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": dict(user_identity) if user_identity is not None else _assumed_role(account_id),
        "eventTime": time,
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip_address,
        "userAgent": user_agent,
    }
    if error_code is not None:
        detail["errorCode"] = error_code
        detail["errorMessage"] = error_message if error_message is not None else f"{error_code} ({event_name})"
    detail["requestParameters"] = None if request_parameters is None else dict(request_parameters)
    detail["responseElements"] = None if response_elements is None else dict(response_elements)
    if additional_event_data is not None:
        detail["additionalEventData"] = dict(additional_event_data)
    detail.update(
        {
            "requestID": request_id or str(uuid.uuid4()),
            "eventID": event_id or str(uuid.uuid4()),
            "readOnly": read_only if read_only is not None else event_name.startswith(_READ_ONLY_PREFIXES),
            "eventType": "AwsApiCall",
            "managementEvent": management_event,
            "recipientAccountId": account_id,
            "eventCategory": "Management" if management_event else "Data",
        }
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": eventbridge_source(event_source),
        "account": account_id,
        "time": time,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _time_text(event_time: datetime | str | None) -> str:
    return event_time if isinstance(event_time, str) else utc_timestamp(event_time)


def _assumed_role(account_id: str) -> dict[str, Any]:
    session = "port-aws-exporter-local"
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEROLEID:{session}",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/Admin/{session}",
        "accountId": account_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLEID",
                "arn": f"arn:aws:iam::{account_id}:role/Admin",
                "accountId": account_id,
                "userName": "Admin",
            },
            "attributes": {"creationDate": "2024-01-01T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }
