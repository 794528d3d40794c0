"""The catalog's web page over HTTP: what each page holds, its filters, links, refresh and access."""

from __future__ import annotations

import base64
import html
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from port_aws_exporter.local.catalog import RunningCatalog, start_catalog
from port_aws_exporter.local.catalog.web.readonly import ReadOnlyCatalog
from port_aws_exporter.local.catalog.web.views import table_columns
from tests.local_catalog.conftest import CLUSTER, cluster

ACCOUNT_A = "port-aws-exporter/0.1.0 (accountid/111111111111 region/eu-west-1)"
ACCOUNT_B = "port-aws-exporter/0.1.0 (accountid/222222222222 region/us-east-1)"
UPSERT = {"upsert": "true", "merge": "true"}


@pytest.fixture
def page(local_catalog: RunningCatalog) -> Iterator[httpx.Client]:
    """A browser's view: no token, loopback."""
    with httpx.Client(base_url=local_catalog.url, timeout=10) as client:
        yield client


def _write(api: httpx.Client, blueprint: str, entity: dict[str, Any], user_agent: str | None = None) -> None:
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = api.post(f"/v1/blueprints/{blueprint}/entities", params=UPSERT, json=entity, headers=headers)
    assert response.status_code in (200, 201), response.text


def _rows(text: str) -> list[str]:
    """The identifiers of a table's rows, in order."""
    return [html.unescape(value) for value in re.findall(r'<tr data-identifier="([^"]*)"', text)]


def _counts(text: str) -> dict[str, int]:
    found = re.findall(r'<tr data-blueprint="([^"]+)">.*?<td class="number count">(\d+)</td>', text, re.S)
    return {blueprint: int(count) for blueprint, count in found}


def _links(text: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="(/blueprints/[^"]+)"', text)]


def test_the_front_page_lists_blueprints_with_their_counts(
    api: httpx.Client, blueprints: None, page: httpx.Client
) -> None:
    for name in ("c1", "c2", "c3"):
        _write(api, "cluster", cluster(name))
    _write(api, "service", {"identifier": "s1", "relations": {"cluster": "c1"}})
    response = page.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert _counts(response.text) == {"cluster": 3, "service": 1, "alarm": 0}
    assert "3 blueprints · 4 entities" in response.text
    assert "no-store" in response.headers["cache-control"]


def test_an_empty_catalog_says_how_to_fill_it(page: httpx.Client) -> None:
    response = page.get("/")
    assert response.status_code == 200
    assert "demo --serve" in response.text


def test_key_properties_are_the_scalar_ones_without_links_or_ids() -> None:
    columns = table_columns(CLUSTER)
    assert [column.name for column in columns] == ["size", "name", "state", "launched"]
    lambda_blueprint = {
        "identifier": "fn",
        "schema": {
            "properties": {
                "arn": {"type": "string"},
                "stackId": {"type": "string"},
                "runtime": {"type": "string"},
                "layers": {"type": "array"},
                "console": {"type": "string", "format": "url"},
                "memory": {"type": "number"},
            }
        },
        "relations": {
            "region": {"target": "region", "many": False},
            "layers": {"target": "layer", "many": True},
        },
    }
    assert [(column.name, column.relation) for column in table_columns(lambda_blueprint)] == [
        ("runtime", False),
        ("memory", False),
        ("region", True),
    ]


def test_the_table_filters_by_text_or_port_query(api: httpx.Client, blueprints: None, page: httpx.Client) -> None:
    _write(api, "cluster", cluster("alpha", size=1, state="ACTIVE"))
    _write(api, "cluster", cluster("beta", size=5, state="INACTIVE"))
    _write(api, "cluster", cluster("alphabet", size=9, state="ACTIVE"))
    assert _rows(page.get("/blueprints/cluster").text) == ["alpha", "alphabet", "beta"]
    narrowed = page.get("/blueprints/cluster", params={"q": "alpha"})
    assert _rows(narrowed.text) == ["alpha", "alphabet"]
    assert "2 of 3 entities match" in narrowed.text
    by_property = page.get("/blueprints/cluster", params={"q": "INACTIVE"})  # a text property's value
    assert _rows(by_property.text) == ["beta"]
    query = '{"combinator": "and", "rules": [{"property": "size", "operator": ">", "value": 3}]}'
    assert _rows(page.get("/blueprints/cluster", params={"q": query}).text) == ["alphabet", "beta"]
    one_rule = '{"property": "state", "operator": "=", "value": "ACTIVE"}'
    assert _rows(page.get("/blueprints/cluster", params={"q": one_rule}).text) == ["alpha", "alphabet"]
    nothing = page.get("/blueprints/cluster", params={"q": "gamma"})
    assert _rows(nothing.text) == [] and "No entity matches this filter." in nothing.text


def test_a_query_the_search_refuses_is_answered_with_the_search_error(
    api: httpx.Client, blueprints: None, page: httpx.Client
) -> None:
    refused = page.get("/blueprints/cluster", params={"q": '{"property": "size", "operator": "~", "value": 1}'})
    assert refused.status_code == 422
    assert "operator &#39;~&#39; is not supported" in refused.text
    not_json = page.get("/search", params={"q": "{size"})
    assert not_json.status_code == 422
    assert "not JSON" in not_json.text
    bad_page = page.get("/blueprints/cluster", params={"page": "0"})
    assert bad_page.status_code == 422
    assert "page must be a whole number" in bad_page.text


def test_the_table_filters_by_datasource_account_and_region(
    api: httpx.Client, blueprints: None, page: httpx.Client
) -> None:
    _write(api, "cluster", cluster("a1"), ACCOUNT_A)
    _write(api, "cluster", cluster("a2"), ACCOUNT_A)
    _write(api, "cluster", cluster("b1"), ACCOUNT_B)
    _write(api, "cluster", cluster("by-hand"), "curl/8.5.0")
    everything = page.get("/blueprints/cluster").text
    assert '<option value="111111111111" >' in everything and '<option value="222222222222" >' in everything
    assert '<option value="eu-west-1" >' in everything
    assert "<th>Source</th>" in everything  # several writers: each row says which
    assert _rows(page.get("/blueprints/cluster", params={"account": "111111111111"}).text) == ["a1", "a2"]
    assert _rows(page.get("/blueprints/cluster", params={"region": "us-east-1"}).text) == ["b1"]
    both = page.get("/blueprints/cluster", params={"account": "111111111111", "region": "us-east-1"})
    assert _rows(both.text) == []


def test_the_table_pages_and_sorts(api: httpx.Client, blueprints: None, page: httpx.Client) -> None:
    names = [f"c{n}" for n in range(7)]
    for name in names:
        _write(api, "cluster", cluster(name))
    first = page.get("/blueprints/cluster", params={"limit": "3"})
    assert _rows(first.text) == names[:3]
    assert "Page 1 of 3" in first.text and "showing 1\u20133" in first.text
    assert 'href="/blueprints/cluster?limit=3&amp;page=2"' in first.text
    last = page.get("/blueprints/cluster", params={"limit": "3", "page": "3"})
    assert _rows(last.text) == names[6:]
    _write(api, "cluster", cluster("c3", size=1))  # updated last
    recent = page.get("/blueprints/cluster", params={"sort": "-updatedAt", "limit": "2"})
    assert _rows(recent.text)[0] == "c3"


def test_an_entity_page_shows_properties_relations_both_ways_and_its_source(
    api: httpx.Client, blueprints: None, page: httpx.Client
) -> None:
    _write(api, "cluster", cluster("c1", size=3, console="https://console.example.com/c1", public=True), ACCOUNT_A)
    _write(api, "service", {"identifier": "s1", "title": "Service one", "relations": {"cluster": "c1"}})
    _write(api, "service", {"identifier": "s2", "relations": {"cluster": "c1", "peers": ["s1"]}})
    cluster_page = page.get("/blueprints/cluster/entities/c1")
    assert cluster_page.status_code == 200
    text = cluster_page.text
    assert '<a class="external" href="https://console.example.com/c1"' in text
    assert '<span class="pill pill-yes">yes</span>' in text
    assert ACCOUNT_A in html.unescape(text)
    assert "111111111111" in text and "eu-west-1" in text
    # Related from: both services, as links to their pages.
    assert "/blueprints/service/entities/s1" in _links(text) and "/blueprints/service/entities/s2" in _links(text)
    service_page = page.get("/blueprints/service/entities/s2").text
    assert "/blueprints/cluster/entities/c1" in _links(service_page)
    assert ">Service one</a>" in service_page  # the peer, by its title
    for link in _links(service_page):
        assert page.get(link).status_code == 200, link


def test_identifiers_with_url_characters_link_to_their_page(
    api: httpx.Client, blueprints: None, page: httpx.Client
) -> None:
    identifier = "team/a+b=c@d:e\\f"
    _write(api, "cluster", cluster(identifier))
    [link] = [link for link in _links(page.get("/blueprints/cluster").text) if "/entities/" in link]
    assert link == "/blueprints/cluster/entities/team%2Fa%2Bb%3Dc%40d%3Ae%5Cf"
    entity_page = page.get(link)
    assert entity_page.status_code == 200
    assert f'<h1 id="entity-title">{html.escape(identifier.upper(), quote=False)}</h1>' in entity_page.text


def test_what_writers_sent_is_shown_never_run(api: httpx.Client, blueprints: None, page: httpx.Client) -> None:
    _write(
        api,
        "cluster",
        {"identifier": "x", "title": "<script>alert(1)</script>", "properties": {"name": "javascript:alert(1)"}},
    )
    text = page.get("/blueprints/cluster/entities/x").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'href="javascript:' not in text
    assert '<span class="text">javascript:alert(1)</span>' in text


def test_missing_blueprints_and_entities_are_404_pages(blueprints: None, page: httpx.Client) -> None:
    missing_blueprint = page.get("/blueprints/ghost")
    assert missing_blueprint.status_code == 404
    assert "no blueprint &#39;ghost&#39;" in missing_blueprint.text
    missing_entity = page.get("/blueprints/cluster/entities/ghost")
    assert missing_entity.status_code == 404
    assert 'href="/blueprints/cluster"' in missing_entity.text
    # The API keeps answering in Port's shape around the page.
    assert page.get("/v1/nothing").json()["error"] == "not_found"


def test_the_page_has_no_write_route(page: httpx.Client, blueprints: None) -> None:
    for path in ("/", "/blueprints/cluster", "/blueprints/cluster/entities/c1", "/search", "/_page/version"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert page.request(method, path).status_code == 405, (method, path)


def test_search_runs_over_every_blueprint(api: httpx.Client, blueprints: None, page: httpx.Client) -> None:
    _write(api, "cluster", cluster("orders-cluster"))
    _write(api, "service", {"identifier": "orders", "relations": {"cluster": "orders-cluster"}})
    _write(api, "service", {"identifier": "billing", "relations": {"cluster": "orders-cluster"}})
    found = page.get("/search", params={"q": "orders"}).text
    assert "2 entities match" in found
    assert re.findall(r'class="panel result-group" data-blueprint="([^"]+)"', found) == ["cluster", "service"]
    by_query = page.get("/search", params={"q": '{"property": "$blueprint", "operator": "=", "value": "service"}'})
    assert "2 entities match" in by_query.text


def test_the_version_moves_when_the_catalog_changes(api: httpx.Client, blueprints: None, page: httpx.Client) -> None:
    before = page.get("/_page/version").json()["version"]
    assert page.get("/_page/version").json()["version"] == before  # reading changes nothing
    _write(api, "cluster", cluster("c1"))
    after = page.get("/_page/version").json()["version"]
    assert after != before
    assert f'data-version="{after}"' in page.get("/").text
    script = page.get("/_page/static/live.js")
    assert script.status_code == 200 and "/_page/version" in script.text
    assert page.get("/_page/static/catalog.css").status_code == 200


def test_the_page_reads_through_read_only_connections(tmp_path: Path, local_catalog: RunningCatalog) -> None:
    absent = ReadOnlyCatalog(tmp_path / "absent.db")
    with pytest.raises(sqlite3.OperationalError):
        absent.version()
    assert not (tmp_path / "absent.db").exists()  # never created
    present = ReadOnlyCatalog(local_catalog.db_path)
    with present.snapshot() as connection, pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute("DELETE FROM entities")
    present.close()


def _non_loopback_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_other_machines_need_the_catalog_credentials(tmp_path: Path) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback to reach the catalog from")
    with start_catalog(tmp_path / "c.db", host="0.0.0.0", client_secret="s3cret") as catalog:
        port = catalog.url.rsplit(":", 1)[1]
        remote = f"http://{address}:{port}"
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200  # loopback: no token
        refused = httpx.get(f"{remote}/")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert "s3cret" not in refused.text
        assert httpx.get(f"{remote}/", auth=(catalog.client_id, "wrong")).status_code == 401
        assert httpx.get(f"{remote}/", auth=(catalog.client_id, "s3cret")).status_code == 200
        token = httpx.post(
            f"{remote}/v1/auth/access_token", json={"clientId": catalog.client_id, "clientSecret": "s3cret"}
        ).json()["accessToken"]
        assert httpx.get(f"{remote}/_page/version", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        garbage = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}
        assert httpx.get(f"{remote}/", headers=garbage).status_code == 401
