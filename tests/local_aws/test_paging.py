"""ListingPaginator: snapshots, tokens bound to their listing, resuming after expiry."""

from __future__ import annotations

import pytest

from port_aws_exporter.local.aws.cloudcontrol.errors import CloudControlError
from port_aws_exporter.local.aws.cloudcontrol.paging import ListingPaginator, page_size


def test_pages_come_from_one_listing() -> None:
    paginator, calls = ListingPaginator(), []
    names = [f"r{index}" for index in range(7)]

    def listing() -> list[str]:
        calls.append(1)
        return names

    first = paginator.page("key", listing, None, 3)
    second = paginator.page("key", listing, first.next_token, 3)
    third = paginator.page("key", listing, second.next_token, 3)
    assert [first.identifiers, second.identifiers, third.identifiers] == [names[:3], names[3:6], names[6:]]
    assert third.next_token is None
    assert len(calls) == 1


def test_after_the_snapshot_is_gone_paging_resumes_after_the_last_identifier() -> None:
    paginator = ListingPaginator()
    first = paginator.page("key", lambda: ["a", "b", "c", "d"], None, 2)
    paginator.clear()
    resumed = paginator.page("key", lambda: ["b", "c", "d"], first.next_token, 2)  # "a" deleted meanwhile
    assert resumed.identifiers == ["c", "d"]


def test_a_token_is_only_valid_for_its_own_listing() -> None:
    paginator = ListingPaginator()
    first = paginator.page("functions", lambda: ["a", "b", "c"], None, 1)
    with pytest.raises(CloudControlError) as raised:
        paginator.page("queues", lambda: ["q"], first.next_token, 1)
    assert raised.value.code == "InvalidRequestException"
    with pytest.raises(CloudControlError, match="NextToken is invalid"):
        paginator.page("functions", list, "garbage!", 1)


def test_page_sizes() -> None:
    assert page_size("AWS::Lambda::Function", None) == 50
    assert page_size("AWS::SQS::Queue", None) == 100
    assert page_size("AWS::SQS::Queue", 7) == 7
    with pytest.raises(CloudControlError, match="between 1 and 100"):
        page_size("AWS::SQS::Queue", 101)
