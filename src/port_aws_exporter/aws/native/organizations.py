"""The organisation's accounts, in `list_accounts` shape, with the organisational units above each
(`OrganizationalUnitPath`: names from the root down, `OrganizationalUnitIds`, `ParentId`) and `Tags`.

Organizations answers only in the management account (or a delegated administrator): the kind is
read once per sync with the home account's credentials. An account that is not in an organisation
lists itself alone (Organizations says it is not in use).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from port_aws_exporter.aws.fetch_errors import error_code
from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.aws.organizations import ACCOUNT_NOT_FOUND, NOT_IN_USE
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

ROOT_NAME = "Root"


class OrganizationAccountFetcher(NativeFetcher):
    """Accounts by walking the organisation from its roots (`ListRoots`,
    `ListOrganizationalUnitsForParent`, `ListAccountsForParent`), one page per parent."""

    service = "organizations"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        client = self.client(region)
        with self.translated_errors(region):
            try:
                roots = [root for page in client.get_paginator("list_roots").paginate() for root in page["Roots"]]
            except ClientError as error:
                if error_code(error) != NOT_IN_USE:
                    raise
                yield self._standalone(region)
                return
            for root in roots:
                yield from self._walk(client, region, root["Id"], (root.get("Name") or ROOT_NAME,), (root["Id"],))

    def _walk(
        self, client: Any, region: str, parent_id: str, names: tuple[str, ...], ids: tuple[str, ...]
    ) -> Iterator[ListedPage]:
        accounts = [
            account
            for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id)
            for account in page["Accounts"]
        ]
        yield ListedPage([self._listed(client, account, names, ids) for account in accounts])
        units = client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent_id)
        for page in units:
            for unit in page["OrganizationalUnits"]:
                yield from self._walk(client, region, unit["Id"], (*names, unit["Name"]), (*ids, unit["Id"]))

    def _listed(
        self, client: Any, account: dict[str, Any], names: tuple[str, ...], ids: tuple[str, ...]
    ) -> ListedResource:
        document = self._document(client, account, names, ids)
        return ListedResource(account["Id"], ResourceDocument(account["Id"], properties=document))

    @staticmethod
    def _document(client: Any, account: dict[str, Any], names: tuple[str, ...], ids: tuple[str, ...]) -> dict[str, Any]:
        tags = [
            tag
            for page in client.get_paginator("list_tags_for_resource").paginate(ResourceId=account["Id"])
            for tag in page["Tags"]
        ]
        document: dict[str, Any] = json_safe(
            {
                **account,
                "ParentId": ids[-1],
                "OrganizationalUnitIds": list(ids),
                "OrganizationalUnitPath": "/".join(names),
                "Tags": tags,
            }
        )
        return document

    def _standalone(self, region: str) -> ListedPage:
        identity = self._clients.client("sts", region).get_caller_identity()
        account_id = str(identity["Account"])
        document = {"Id": account_id, "State": "ACTIVE", "OrganizationalUnitIds": [], "Tags": []}
        return ListedPage([ListedResource(account_id, ResourceDocument(account_id, properties=document))])

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        client = self.client(region)
        response = self.call_or_none(
            region,
            identifier,
            frozenset({ACCOUNT_NOT_FOUND}),
            lambda: client.describe_account(AccountId=identifier),
        )
        if response is None:
            return None
        with self.translated_errors(region, identifier):
            names, ids = self._path(client, identifier)
            document = self._document(client, response["Account"], names, ids)
        return ResourceDocument(identifier, properties=document)

    @staticmethod
    def _path(client: Any, account_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The names and ids of the organisational units above an account, from the root down."""
        names: list[str] = []
        ids: list[str] = []
        child = account_id
        while True:
            parent = client.list_parents(ChildId=child)["Parents"][0]
            ids.insert(0, parent["Id"])
            if parent["Type"] == "ROOT":
                names.insert(0, ROOT_NAME)
                return tuple(names), tuple(ids)
            unit = client.describe_organizational_unit(OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]
            names.insert(0, unit["Name"])
            child = parent["Id"]
