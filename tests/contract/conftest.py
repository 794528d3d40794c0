"""The contract suite's local catalog: every request and answer checked against Port's document.

`local_catalog_server` is overridden here, so every fixture built on it (`local_catalog`,
`port_client`) talks to a catalog behind a `ContractRecorder`. `contract` hands a test the
recorder, empty, and fails the test if anything it caused disagrees with the document.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from port_aws_exporter.local.catalog import RunningCatalog, start_catalog
from tests.contract.port_openapi import ContractRecorder, port_spec


@pytest.fixture(scope="session")
def contract_recorder() -> ContractRecorder:
    return ContractRecorder(port_spec())


@pytest.fixture(scope="session")
def local_catalog_server(
    tmp_path_factory: pytest.TempPathFactory, contract_recorder: ContractRecorder
) -> Iterator[RunningCatalog]:
    """A catalog whose every `/v1` exchange is validated by `contract_recorder`."""
    path = tmp_path_factory.mktemp("contract-catalog") / "catalog.db"
    with start_catalog(path, wrap_app=contract_recorder.wrap) as catalog:
        yield catalog


@pytest.fixture
def contract(local_catalog: RunningCatalog, contract_recorder: ContractRecorder) -> Iterator[ContractRecorder]:
    """The recorder, with no findings yet; the test fails on any finding it leaves."""
    contract_recorder.take_findings()
    yield contract_recorder
    findings = contract_recorder.take_findings()
    assert not findings, "disagreements with Port's OpenAPI document:\n" + "\n".join(map(str, findings))
