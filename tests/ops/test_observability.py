"""Observability (issue 20, part 5): request ids in headers, logs and problems; /metrics and who may read it;
the counters; /readyz."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from service.app import create_app
from service.cases import commands
from service.config import Settings
from service.migrate import upgrade
from service.observability.logs import JsonFormatter
from service.worker.timers import run_once
from tests.web.helpers import Case, disclosure, post_json, sign_in


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def metrics_text(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def own_app(settings):
    """An app of this module's own, with routes that log and fail (added before its first request)."""
    application = create_app(replace(settings, metrics_token="scrape-" + secrets.token_hex(8),
                                     metrics_allow=("10.1.0.0/16",)))
    application.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @application.get("/_test/log")
    def _log():
        logging.getLogger("tejun.test").warning("inside the request")
        return {"ok": True}

    @application.get("/_test/boom")
    def _boom():
        raise RuntimeError("boom")

    yield application
    application.extensions["tejun"].db.dispose()


def test_a_sane_request_id_is_kept_and_any_other_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42:1"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.42:1"
    for bad in ("has space", "x" * 129, "semi;colon", ""):
        made = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and len(made) == 16 and int(made, 16) >= 0
    assert client.get("/healthz").headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]


def test_log_lines_and_problems_carry_the_request_id(own_app, client, caplog):
    with caplog.at_level(logging.WARNING, logger="tejun.test"):
        own_app.test_client().get("/_test/log", headers={"X-Request-ID": "req-123"})
    (record,) = [r for r in caplog.records if r.name == "tejun.test"]
    assert record.request_id == "req-123"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-123" and line["message"] == "inside the request"
    assert line["level"] == "WARNING" and line["logger"] == "tejun.test" and line["time"].endswith("+00:00")
    outside = logging.LogRecord("tejun.test", logging.INFO, __file__, 1, "outside", None, None)
    assert getattr(logging.getLogRecordFactory()("x", logging.INFO, "", 1, "m", None, None), "request_id") == "-"
    assert json.loads(JsonFormatter().format(outside))["request_id"] == "-"

    problem = client.get("/api/v1/tasks", headers={"X-Request-ID": "req-401"})
    assert problem.status_code == 401 and problem.mimetype == "application/problem+json"
    assert problem.get_json()["request_id"] == "req-401" == problem.headers["X-Request-ID"]


def test_metrics_only_for_allowed_addresses_or_the_token(own_app, client):
    assert "tejun_queue_depth" in metrics_text(client)  # the shared app: the host itself may scrape
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 404

    scraper = own_app.test_client()
    token = own_app.extensions["tejun"].settings.metrics_token
    assert scraper.get("/metrics").status_code == 404  # 127.0.0.1 is not in this app's list
    assert scraper.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.4.5"}).status_code == 200
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    text = metrics_text(scraper, headers={"Authorization": f"Bearer {token}"})
    for name in ("tejun_task_completions_total", "tejun_http_conflicts_total", "tejun_http_errors_total",
                 "tejun_screening_runs_total", "tejun_worker_rounds_total", "tejun_timer_delay_seconds",
                 'tejun_queue_depth{tab="team"}', 'tejun_queue_depth{tab="overdue"}', "tejun_worker_lag_seconds"):
        assert name in text, name


def test_completions_conflicts_and_errors_are_counted(app, own_app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    researcher = sign_in(app, world, "researcher")
    before = sample("tejun_task_completions_total", via="web")
    assert post_json(researcher, f"/tasks/{item.task_id}/submit", disclosure_body()).status_code == 200
    assert sample("tejun_task_completions_total", via="web") == before + 1

    held = case.item("record_managed_data")
    commands.claim_task(svc, world.actor("security2"), held.task_id)
    conflicts = sample("tejun_http_conflicts_total")
    response = post_json(sign_in(app, world, "security"), f"/tasks/{held.task_id}/submit", {"data": {}})
    assert response.status_code == 409
    assert sample("tejun_http_conflicts_total") == conflicts + 1
    assert sample("tejun_task_completions_total", via="web") == before + 1  # a refusal completes nothing

    errors = sample("tejun_http_errors_total", status="500")
    failed = own_app.test_client().get("/_test/boom", headers={"Accept": "application/json",
                                                               "X-Request-ID": "req-500"})
    assert failed.status_code == 500 and failed.get_json()["request_id"] == "req-500"
    assert sample("tejun_http_errors_total", status="500") == errors + 1


def disclosure_body() -> dict:
    return {"data": disclosure()}


def test_worker_rounds_are_counted(svc):
    rounds = sample("tejun_worker_rounds_total")
    run_once(svc)
    assert sample("tejun_worker_rounds_total") == rounds + 1
    assert sample("tejun_worker_round_seconds_count") >= 1


def test_readyz_checks_database_migrations_and_storage(client, settings, tmp_path):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "storage": "ok"}}

    # a database one migration behind, and an upload folder that cannot be written
    behind = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    upgrade(behind, "0009")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    app = create_app(Settings.from_env(instance_path=tmp_path / "instance", database_url=behind,
                                       secret_key=secrets.token_hex(8), upload_dir=locked))
    try:
        answer = app.test_client().get("/readyz")
        assert answer.status_code == 503
        body = answer.get_json()
        assert body["status"] == "not ready" and body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"].startswith("at 0009, head is ")
        import os

        if os.geteuid() != 0:  # root writes anywhere
            assert body["checks"]["storage"].startswith("unreachable")
    finally:
        app.extensions["tejun"].db.dispose()
        locked.chmod(0o700)
