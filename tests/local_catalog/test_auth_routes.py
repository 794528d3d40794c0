from __future__ import annotations

import time

import httpx

from port_aws_exporter.local.catalog import RunningCatalog, start_catalog


def test_token_is_issued_for_the_right_credentials(local_catalog: RunningCatalog) -> None:
    response = httpx.post(
        f"{local_catalog.url}/v1/auth/access_token",
        json={"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["tokenType"] == "Bearer"
    assert 0 < body["expiresIn"] <= 3 * 3600
    assert len(body["accessToken"]) > 20


def test_asking_again_returns_the_same_active_token_with_less_time(local_catalog: RunningCatalog) -> None:
    credentials = {"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret}
    first = httpx.post(f"{local_catalog.url}/v1/auth/access_token", json=credentials).json()
    time.sleep(0.01)
    second = httpx.post(f"{local_catalog.url}/v1/auth/access_token", json=credentials).json()
    assert second["accessToken"] == first["accessToken"]
    assert second["expiresIn"] < first["expiresIn"]


def test_wrong_secret_is_401_with_ports_error_body(local_catalog: RunningCatalog) -> None:
    response = httpx.post(
        f"{local_catalog.url}/v1/auth/access_token",
        json={"clientId": local_catalog.client_id, "clientSecret": "nope"},
    )
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "unauthorized", "message": "invalid client credentials"}


def test_malformed_auth_body_is_422(local_catalog: RunningCatalog) -> None:
    url = f"{local_catalog.url}/v1/auth/access_token"
    assert httpx.post(url, json={"clientId": "x"}).status_code == 422
    assert httpx.post(url, json={"clientId": "x", "clientSecret": "y", "extra": 1}).status_code == 422
    assert httpx.post(url, content=b"{not json").status_code == 422


def test_routes_need_a_valid_bearer_token(local_catalog: RunningCatalog) -> None:
    url = f"{local_catalog.url}/v1/blueprints"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert httpx.get(url, headers={"Authorization": "Bearer forged"}).status_code == 401


def test_tokens_expire() -> None:
    ttl = 1.0  # long enough for the first call to land before expiry even on a busy machine
    with start_catalog(token_ttl_seconds=ttl) as catalog:
        token = httpx.post(
            f"{catalog.url}/v1/auth/access_token",
            json={"clientId": catalog.client_id, "clientSecret": catalog.client_secret},
        ).json()["accessToken"]
        issued_by = time.monotonic()  # the catalog issued the token before its answer came back
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{catalog.url}/v1/blueprints", headers=headers).status_code == 200
        time.sleep(max(0.0, issued_by + ttl + 0.05 - time.monotonic()))
        expired = httpx.get(f"{catalog.url}/v1/blueprints", headers=headers)
        assert expired.status_code == 401
        assert "expired" in expired.json()["message"]


def test_revoking_tokens_over_http(local_catalog: RunningCatalog) -> None:
    token = httpx.post(
        f"{local_catalog.url}/v1/auth/access_token",
        json={"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret},
    ).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{local_catalog.url}/v1/blueprints", headers=headers).status_code == 200
    assert httpx.post(f"{local_catalog.url}/_local/tokens/revoke").json() == {"ok": True}
    assert httpx.get(f"{local_catalog.url}/v1/blueprints", headers=headers).status_code == 401


def test_unknown_routes_answer_json_404(local_catalog: RunningCatalog) -> None:
    response = httpx.get(f"{local_catalog.url}/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["ok"] is False
    assert response.json()["error"] == "not_found"
