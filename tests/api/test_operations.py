"""Health, metrics, OpenAPI, and the error shape of routing errors."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import REGISTRY

from ccx.api import create_app
from ccx.clock import SimulatedClock
from ccx.config import Settings
from ccx.db import Database
from tests.api.client import Keys, TestClient, assert_error
from tests.api.factories import POOL, WALLET_A, set_up_ledger, transfer_body


def test_healthz_answers_ok_without_a_key(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_an_unreachable_database_answers_503(clock: SimulatedClock) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    unreachable = Database(url)
    client = TestClient(create_app(Settings(database_url=url), database=unreachable, clock=clock))
    health = client.get("/healthz")
    ledgers = client.get("/api/v1/ledgers", headers={"X-API-Key": "ccx_0123456789abcdef_x"})
    unreachable.dispose()
    assert_error(health, 503, "database_unavailable")
    assert_error(ledgers, 503, "database_unavailable")


def test_a_bug_answers_500_with_the_error_shape_and_is_counted(app: FastAPI) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/broken", broken)
    client = TestClient(app, raise_server_exceptions=False)
    answer = client.get("/broken")
    error = assert_error(answer, 500, "internal_error")
    assert "secret" not in answer.text
    assert "details" not in error
    metrics = client.get("/metrics").text
    assert 'ccx_http_requests_total{method="GET",route="/broken",status="500"} 1.0' in metrics


def test_metrics_count_requests_by_route_template_and_transfers_by_result(
    client: TestClient, keys: Keys
) -> None:
    set_up_ledger(client, keys)
    client.get(f"/api/v1/accounts/{POOL}", headers=keys.auditor)
    client.get("/api/v1/accounts/999", headers=keys.auditor)
    client.post("/api/v1/transfers", json=transfer_body(1, POOL, WALLET_A, 5), headers=keys.admin)

    answer = client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert (
        'ccx_http_requests_total{method="GET",route="/api/v1/accounts/{account_id}",status="200"}'
        " 1.0" in text
    )
    assert (
        'ccx_http_requests_total{method="GET",route="/api/v1/accounts/{account_id}",status="404"}'
        " 1.0" in text
    )
    latency = 'ccx_http_request_duration_seconds_count{method="POST",route="/api/v1/transfers"'
    assert f'{latency},status="422"}} 1.0' in text
    assert 'ccx_transfers_created_total{result="exceeds_credits"} 1.0' in text


def test_metrics_live_in_a_registry_of_each_application(
    database: Database, clock: SimulatedClock
) -> None:
    settings = Settings(database_url=database.url.render_as_string(hide_password=False))
    first = TestClient(create_app(settings, database=database, clock=clock))
    second = TestClient(create_app(settings, database=database, clock=clock))
    first.get("/healthz")
    assert 'route="/healthz"' in first.get("/metrics").text
    assert 'route="/healthz"' not in second.get("/metrics").text
    assert not [metric.name for metric in REGISTRY.collect() if metric.name.startswith("ccx_")]


def test_openapi_is_served_under_the_api_prefix(client: TestClient) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    assert {"/api/v1/transfers", "/api/v1/accounts/{account_id}", "/healthz"} <= paths.keys()
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 404


def test_unknown_path_and_wrong_method_answer_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    wrong_method = client.delete("/healthz")
    assert_error(wrong_method, 405, "method_not_allowed")
    assert wrong_method.headers["allow"] == "GET"
