"""The Cloud Control API (`X-Amz-Target: CloudApiService.*`), answered over moto and a generic store.

Reads return `Properties` as a JSON string shaped by the type's CloudFormation schema:
`GetResource` the whole model, `ListResources` only what AWS's list handler returns (the primary
identifier, `core.kinds.cloudcontrol.listed_properties`). A `CreateResource` whose desired state
breaks the schema is refused at once with AWS's `ValidationException` "Model validation failed
(#: extraneous key [Foo] is not permitted)". Changes (`CreateResource`, `UpdateResource`,
`DeleteResource`) apply at once and answer an IN_PROGRESS ProgressEvent, as AWS does;
`GetResourceRequestStatus` then reports how they ended (SUCCESS, or FAILED with an
`ErrorCode`). Errors use AWS's exception names and a 4xx status: never a 500, which boto3 would
retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import jsonpatch

from port_aws_exporter.core.kinds.cloudcontrol import is_listable, is_readable, list_requirement, listed_properties
from port_aws_exporter.local.aws.aws_request import JSON, AwsRequest
from port_aws_exporter.local.aws.cloudcontrol.errors import (
    CloudControlError,
    invalid_request,
    resource_not_found,
    type_not_found,
    unsupported_action,
)
from port_aws_exporter.local.aws.cloudcontrol.moto_types import SourceContext
from port_aws_exporter.local.aws.cloudcontrol.paging import ListingPaginator, page_size
from port_aws_exporter.local.aws.cloudcontrol.progress import FAILED, ResourceRequest, ResourceRequestLog
from port_aws_exporter.local.aws.cloudcontrol.resources import ResourceView
from port_aws_exporter.local.aws.cloudcontrol.schemas import ResourceSchema, ResourceSchemas
from port_aws_exporter.local.aws.cloudcontrol.store import GenericResourceStore
from port_aws_exporter.local.aws.error_responses import error_response
from port_aws_exporter.local.aws.http_response import HttpResponse, json_response

TARGET_PREFIX = "CloudApiService."
CONTENT_TYPE = "application/x-amz-json-1.0"

Params = dict[str, Any]


class ChangeFailed(Exception):
    """A resource change that ends as a FAILED ProgressEvent with a handler error code."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class CloudControlEmulator:
    """Answers Cloud Control API calls. Thread-safe; one per local endpoint."""

    def __init__(self, schemas: ResourceSchemas | None = None, store: GenericResourceStore | None = None) -> None:
        self.schemas = schemas or ResourceSchemas()
        self.resources = ResourceView(store or GenericResourceStore())
        self.requests = ResourceRequestLog()
        self.paginator = ListingPaginator()
        self._operations: dict[str, Callable[[SourceContext, Params], Params]] = {
            "ListResources": self.list_resources,
            "GetResource": self.get_resource,
            "CreateResource": self.create_resource,
            "UpdateResource": self.update_resource,
            "DeleteResource": self.delete_resource,
            "GetResourceRequestStatus": self.get_resource_request_status,
            "ListResourceRequests": self.list_resource_requests,
            "CancelResourceRequest": self.cancel_resource_request,
        }

    def reset(self) -> None:
        """Forget generic-store resources and resource requests (moto's state is reset elsewhere)."""
        self.resources.store.clear()
        self.requests.clear()
        self.paginator.clear()

    def handle(self, request: AwsRequest) -> HttpResponse:
        """Answer one HTTP request whose `X-Amz-Target` starts with `CloudApiService.`."""
        operation = self._operations.get(request.operation)
        if operation is None:
            return error_response(
                JSON,
                "UnknownOperationException",
                f"Unknown operation {request.operation}",
                json_version="1.0",
            )
        try:
            params = json.loads(request.body or b"{}")
            if not isinstance(params, dict):
                raise ValueError("the request body is not a JSON object")
        except ValueError as error:
            return error_response(JSON, "SerializationException", str(error), json_version="1.0")
        ctx = SourceContext(request.account_id, request.region, request.base_url)
        try:
            return json_response(operation(ctx, params), content_type=CONTENT_TYPE)
        except CloudControlError as error:
            return error_response(JSON, error.code, error.message, status=error.status, json_version="1.0")

    # --- reads ---------------------------------------------------------------------------------

    def _schema(self, ctx: SourceContext, params: Params) -> ResourceSchema:
        type_name = params.get("TypeName")
        if not isinstance(type_name, str) or not type_name:
            raise invalid_request("TypeName is required")
        schema = self.schemas.get(type_name, ctx.region)
        if schema is None:
            raise type_not_found(type_name)
        return schema

    def list_resources(self, ctx: SourceContext, params: Params) -> Params:
        """`ListResources`: one page of resource descriptions."""
        schema = self._schema(ctx, params)
        type_name = schema.type_name
        if not is_listable(type_name):
            raise unsupported_action(type_name, "LIST")
        model = _json_object(params.get("ResourceModel"), "ResourceModel")
        requirement = list_requirement(type_name)
        missing = requirement.missing(model)
        if missing:
            raise invalid_request(
                f"Missing or invalid ResourceModel property in {type_name} list handler request input: "
                f"required {requirement.describe()}; missing {', '.join(missing)}"
            )
        size = page_size(type_name, params.get("MaxResults"))

        def list_identifiers() -> list[str]:
            identifiers = self.resources.identifiers(ctx, type_name)
            if model:
                identifiers = [i for i in identifiers if _matches(self.resources.read(ctx, type_name, i), model)]
            return identifiers

        key = ("resources", ctx.account_id, ctx.region, type_name, json.dumps(model, sort_keys=True))
        page = self.paginator.page(key, list_identifiers, params.get("NextToken"), size)
        # AWS's list descriptions carry only what the type's list handler returns (its primary
        # identifier, for the types recorded), not the model GetResource answers.
        listed = listed_properties(type_name, schema.primary_identifier)
        descriptions = []
        for identifier in page.identifiers:
            properties = self.resources.read(ctx, type_name, identifier)
            if properties is not None:
                shown = {name: properties[name] for name in listed if name in properties}
                descriptions.append({"Identifier": identifier, "Properties": json.dumps(shown)})
        result: Params = {"TypeName": type_name, "ResourceDescriptions": descriptions}
        if page.next_token:
            result["NextToken"] = page.next_token
        return result

    def get_resource(self, ctx: SourceContext, params: Params) -> Params:
        """`GetResource`: one resource's current properties."""
        schema = self._schema(ctx, params)
        if not is_readable(schema.type_name):
            raise unsupported_action(schema.type_name, "READ")
        identifier = _identifier(params)
        properties = self.resources.read(ctx, schema.type_name, identifier)
        if properties is None:
            raise resource_not_found(schema.type_name, identifier)
        return {
            "TypeName": schema.type_name,
            "ResourceDescription": {"Identifier": identifier, "Properties": json.dumps(properties)},
        }

    # --- changes -------------------------------------------------------------------------------

    def _submit(
        self, ctx: SourceContext, params: Params, operation: str, change: Callable[[ResourceSchema], str]
    ) -> Params:
        """Run one change, record how it ended, and answer the IN_PROGRESS event AWS answers."""
        schema = self._schema(ctx, params)
        client_token = params.get("ClientToken")
        fingerprint = hashlib.sha256(json.dumps([operation, ctx.region, params], sort_keys=True).encode()).hexdigest()
        if client_token:
            earlier = self.requests.by_client_token(client_token)
            if earlier is not None:
                if earlier.fingerprint != fingerprint:
                    raise CloudControlError(
                        "ClientTokenConflictException",
                        f"ClientToken {client_token} was used for a different request",
                    )
                return {"ProgressEvent": earlier.progress_event(as_submitted=True)}
        request = ResourceRequest(
            operation, schema.type_name, identifier=params.get("Identifier"), fingerprint=fingerprint
        )
        try:
            request.identifier = change(schema)
            model = self.resources.read(ctx, schema.type_name, request.identifier)
            request.resource_model = json.dumps(model) if model is not None and operation != "DELETE" else None
        except ChangeFailed as failure:
            request.status, request.error_code, request.status_message = (
                FAILED,
                failure.error_code,
                failure.message,
            )
        except CloudControlError as error:
            request.status, request.error_code, request.status_message = (
                FAILED,
                "GeneralServiceException",
                error.message,
            )
        self.requests.record(request, client_token)
        return {"ProgressEvent": request.progress_event(as_submitted=True)}

    def create_resource(self, ctx: SourceContext, params: Params) -> Params:
        """`CreateResource` from a `DesiredState`."""
        desired = _json_object(params.get("DesiredState"), "DesiredState")
        if desired is None:
            raise invalid_request("DesiredState is required")
        # AWS validates the desired state against the type's schema before it accepts the request:
        # a bad model is a ValidationException at once, not a request that goes IN_PROGRESS.
        failures = self._schema(ctx, params).model_validation_failures(desired)
        if failures:
            raise CloudControlError("ValidationException", "Model validation failed (" + "\n    ".join(failures) + ")")

        def create(schema: ResourceSchema) -> str:
            _check_model(schema, desired, forbid_read_only=True)
            try:
                return self.resources.create(ctx, schema, desired)
            except KeyError as exists:
                raise ChangeFailed("AlreadyExists", f"{schema.type_name} '{exists.args[0]}' already exists") from exists

        return self._submit(ctx, params, "CREATE", create)

    def update_resource(self, ctx: SourceContext, params: Params) -> Params:
        """`UpdateResource` with a JSON Patch (RFC 6902) `PatchDocument`."""
        identifier = _identifier(params)
        try:
            patch = jsonpatch.JsonPatch(json.loads(params.get("PatchDocument") or "null"))
        except (ValueError, TypeError, jsonpatch.JsonPatchException) as error:
            raise invalid_request(f"PatchDocument is not a valid JSON Patch: {error}") from error

        def update(schema: ResourceSchema) -> str:
            current = self.resources.read(ctx, schema.type_name, identifier)
            if current is None:
                raise ChangeFailed("NotFound", resource_not_found(schema.type_name, identifier).message)
            if (
                self.resources.is_moto_backed(schema.type_name)
                and self.resources.store.get(ctx.account_id, ctx.region, schema.type_name, identifier) is None
            ):
                raise ChangeFailed(
                    "NotUpdatable",
                    f"the local endpoint does not update {schema.type_name} resources that moto serves; "
                    "change them through the service API",
                )
            try:
                updated = patch.apply(current)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                raise ChangeFailed("InvalidRequest", f"the patch does not apply: {error}") from error
            changed = sorted(n for n in schema.create_only | schema.read_only if updated.get(n) != current.get(n))
            if changed:
                raise ChangeFailed("NotUpdatable", f"properties that cannot be updated were changed: {changed}")
            _check_model(schema, updated, forbid_read_only=False)
            self.resources.replace_stored(ctx, schema.type_name, identifier, updated)
            return identifier

        return self._submit(ctx, params, "UPDATE", update)

    def delete_resource(self, ctx: SourceContext, params: Params) -> Params:
        """`DeleteResource`."""
        identifier = _identifier(params)

        def delete(schema: ResourceSchema) -> str:
            if not self.resources.delete(ctx, schema.type_name, identifier):
                raise ChangeFailed("NotFound", resource_not_found(schema.type_name, identifier).message)
            return identifier

        return self._submit(ctx, params, "DELETE", delete)

    # --- request status ------------------------------------------------------------------------

    def _request(self, params: Params) -> ResourceRequest:
        token = params.get("RequestToken")
        request = self.requests.get(token) if isinstance(token, str) else None
        if request is None:
            raise CloudControlError("RequestTokenNotFoundException", f"Request token {token} was not found")
        return request

    def get_resource_request_status(self, ctx: SourceContext, params: Params) -> Params:
        """`GetResourceRequestStatus`: how a change ended."""
        return {"ProgressEvent": self._request(params).progress_event(), "HooksProgressEvent": []}

    def cancel_resource_request(self, ctx: SourceContext, params: Params) -> Params:
        """`CancelResourceRequest`: every change here has already finished, so none can be cancelled."""
        request = self._request(params)
        raise CloudControlError(
            "ConcurrentModificationException",
            f"Request {request.token} has already finished ({request.status})",
        )

    def list_resource_requests(self, ctx: SourceContext, params: Params) -> Params:
        """`ListResourceRequests`, filtered by operation and status, newest first."""
        filters = params.get("ResourceRequestStatusFilter") or {}
        operations = set(filters.get("Operations") or ())
        statuses = set(filters.get("OperationStatuses") or ())

        def list_tokens() -> list[str]:
            return [
                request.token
                for request in self.requests.all()
                if (not operations or request.operation in operations) and (not statuses or request.status in statuses)
            ]

        key = ("requests", tuple(sorted(operations)), tuple(sorted(statuses)))
        size = page_size("", params.get("MaxResults"))
        page = self.paginator.page(key, list_tokens, params.get("NextToken"), size)
        summaries = [event for token in page.identifiers if (event := self._summary(token)) is not None]
        result: Params = {"ResourceRequestStatusSummaries": summaries}
        if page.next_token:
            result["NextToken"] = page.next_token
        return result

    def _summary(self, token: str) -> Params | None:
        request = self.requests.get(token)
        if request is None:
            return None
        event = request.progress_event()
        event.pop("ResourceModel", None)
        return event


def _identifier(params: Params) -> str:
    identifier = params.get("Identifier")
    if not isinstance(identifier, str) or not identifier:
        raise invalid_request("Identifier is required")
    return identifier


def _json_object(text: Any, name: str) -> dict[str, Any] | None:
    if text in (None, ""):
        return None
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError as error:
        raise invalid_request(f"{name} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise invalid_request(f"{name} must be a JSON object")
    return value


def _matches(properties: dict[str, Any] | None, model: dict[str, Any]) -> bool:
    return properties is not None and all(properties.get(key) == value for key, value in model.items())


def _check_model(schema: ResourceSchema, model: dict[str, Any], *, forbid_read_only: bool) -> None:
    if forbid_read_only:
        read_only = sorted(name for name in schema.read_only if name in model)
        if read_only:
            raise ChangeFailed("InvalidRequest", f"read-only properties cannot be set: {read_only}")
    errors = schema.validation_errors(model)
    if errors:
        raise ChangeFailed("InvalidRequest", "Model validation failed: " + "; ".join(errors[:5]))
