"""ACM certificates in `describe_certificate` shape (Port's kind `AWS::ACM::Certificate`)."""

from __future__ import annotations

from collections.abc import Iterator

from port_aws_exporter.aws.native.base import NativeFetcher, json_safe
from port_aws_exporter.core.config import AwsSelector
from port_aws_exporter.core.fetching import ListedPage, ListedResource, ResourceDocument

NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "InvalidArnException"})


class AcmCertificateFetcher(NativeFetcher):
    """Certificates from `list_certificates` (with `list_parameters`), each described."""

    service = "acm"

    def list_pages(self, region: str, selector: AwsSelector, resume_token: str | None = None) -> Iterator[ListedPage]:
        pages = self.paginate(region, "list_certificates", "CertificateSummaryList", selector.list_parameters)
        for summaries in pages:
            listed = []
            for summary in summaries:
                document = self.read(region, summary["CertificateArn"])
                if document is not None:  # deleted between the list and the read
                    listed.append(ListedResource(document.identifier, document))
            yield ListedPage(listed)

    def read(self, region: str, identifier: str) -> ResourceDocument | None:
        response = self.call_or_none(
            region,
            identifier,
            NOT_FOUND_CODES,
            lambda: self.client(region).describe_certificate(CertificateArn=identifier),
        )
        if not response:
            return None
        return ResourceDocument(identifier, properties=json_safe(response["Certificate"]))
