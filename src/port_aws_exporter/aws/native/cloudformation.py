"""CloudFormation stacks in `describe_stacks` shape, with `StackResources` and `TemplateBody`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from port_aws_exporter.aws.fetch_errors import error_code, none_if_not_found
from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

DELETED_STATUS = "DELETE_COMPLETE"


class CloudFormationStackFetcher(NativeFetcher):
    """Stacks from `list_stacks` (with `list_parameters`, e.g. `StackStatusFilter`), skipping
    deleted ones, each described with its resources and template (a JSON template as YAML text,
    as the original exporter did).
    """

    service = "cloudformation"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        for summaries in self.paginate(region, "list_stacks", "StackSummaries", selector.list_parameters):
            listed = []
            for summary in summaries:
                if summary.get("StackStatus") == DELETED_STATUS:
                    continue
                document = self.read(region, summary["StackId"])
                if document is not None:
                    listed.append(ListedResource(document.identifier, document))
            yield ListedPage(listed)

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        client = self.client(region)
        stacks = self._describe(region, identifier)
        if not stacks or stacks[0].get("StackStatus") == DELETED_STATUS:
            return None
        stack = stacks[0]
        with self.translated_errors(region, identifier):
            resources = client.describe_stack_resources(StackName=stack["StackId"]).get("StackResources", [])
            template = client.get_template(StackName=stack["StackId"]).get("TemplateBody")
        if isinstance(template, dict):
            # PyYAML would cost every Lambda cold start about 15 ms; only reading a stack needs it.
            import yaml  # noqa: PLC0415

            template = yaml.safe_dump(json_safe(template), sort_keys=False)
        document = {**stack, "StackResources": resources, "TemplateBody": template}
        return ResourceDocument(stack["StackId"], properties=json_safe(document))

    def _describe(self, region: str, identifier: str) -> list[dict[str, Any]]:
        response = none_if_not_found(
            self.kind,
            region,
            identifier,
            _stack_missing,
            lambda: self.client(region).describe_stacks(StackName=identifier),
        )
        stacks: list[dict[str, Any]] = response["Stacks"] if response else []
        return stacks


def _stack_missing(error: ClientError) -> bool:
    # A missing stack is a ValidationError "Stack with id X does not exist".
    return error_code(error) == "ValidationError" and "does not exist" in str(error)
