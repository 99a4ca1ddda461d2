"""Request ids, metrics and readiness for the web processes (docs/operations.md, "Metrics, logs, readiness").

* Every request has an id: the `X-Request-ID` header when it is a sane token (a load balancer's or a
  client's), else one made here. It is in every log line written while the request is served, in the
  response's `X-Request-ID` header, and in problem+json answers (`request_id`).
* `GET /metrics`: Prometheus text, only for addresses in TEJUN_METRICS_ALLOW (default the host itself) or with
  `Authorization: Bearer <TEJUN_METRICS_TOKEN>`; anyone else gets 404.
* `GET /readyz`: 200 when the database answers, its schema is at the migrations' head and the evidence store
  is reachable; 503 with the failing check otherwise. `/healthz` stays the cheap liveness probe.

What runs on every request is two small hooks: one reads or makes the id, one sets the header and counts
409s, 5xxs and completed tasks (a dict lookup). Nothing else is measured per request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging

from flask import Flask, Response, request

from . import logs, metrics

log = logging.getLogger("tejun.observability")


def _networks(entries) -> list:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("TEJUN_METRICS_ALLOW: %r is not an address or network; ignored", entry)
    return networks


def _completion_endpoints(app: Flask) -> dict[str, str]:
    """The endpoints that complete a human task: the API's `.../complete` and the pages' `.../submit`."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        if rule.rule.startswith("/api/v1/tasks/") and rule.rule.endswith("/complete"):
            found[rule.endpoint] = "api"
        elif rule.rule.startswith("/tasks/") and rule.rule.endswith("/submit"):
            found[rule.endpoint] = "web"
    return found


def init_app(app: Flask, svc) -> None:
    """Register the request-id hooks first (so that every later hook logs with the id) and the two endpoints."""
    settings = svc.settings
    logs.configure(settings.log_format)
    allowed = _networks(settings.metrics_allow)
    token = settings.metrics_token
    gauges = metrics.DatabaseGauges(svc)
    completions: dict = {}  # endpoint: its counter, found at the first POST
    conflicts, errors, task_completions = metrics.http_conflicts, metrics.http_errors, metrics.task_completions
    request_id, incoming_or_new = logs.request_id, logs.incoming_or_new

    @app.before_request
    def _request_id():
        request_id.set(incoming_or_new(request.environ.get("HTTP_X_REQUEST_ID")))

    @app.after_request
    def _count(response: Response) -> Response:
        rid = request_id.get()
        response.headers["X-Request-ID"] = rid
        code = response.status_code
        if code >= 400:
            if code == 409:
                conflicts.inc()
            elif code >= 500:
                errors.labels(str(code)).inc()
            if response.mimetype == "application/problem+json" and not response.direct_passthrough:
                _add_request_id(response, rid)
        elif request.method == "POST":
            if not completions:
                completions.update({endpoint: task_completions.labels(via)
                                    for endpoint, via in _completion_endpoints(app).items()})
            counter = completions.get(request.endpoint)
            if counter is not None:
                counter.inc()
        return response

    @app.teardown_request
    def _forget_request_id(_error=None):
        request_id.set("-")

    @app.get("/metrics")
    def metrics_endpoint():
        if not _may_scrape(allowed, token):
            return Response("not found\n", 404, mimetype="text/plain")
        body, content_type = metrics.exposition(gauges)
        return Response(body, 200, content_type=content_type, headers={"Cache-Control": "no-store"})

    heads: list[str] = []

    @app.get("/readyz")
    def readyz():
        checks, ready = {}, True
        from sqlalchemy import text

        try:
            with svc.db.reader() as session:
                session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            ready = False
            checks["database"] = f"unreachable: {type(error).__name__}"
            log.warning("readiness: database check failed: %s", error)
        if ready:
            try:
                with svc.db.reader() as session:
                    current = set(session.scalars(text("SELECT version_num FROM alembic_version")))
            except Exception:  # noqa: BLE001 - no alembic_version table: nothing applied
                current = set()
            if not heads:
                heads.extend(_migration_heads(settings.database_url))
            if current != set(heads):
                ready = False
                checks["migrations"] = f"at {', '.join(sorted(current)) or 'nothing'}, head is {', '.join(heads)}"
            else:
                checks["migrations"] = "ok"
        try:
            svc.evidence.check()
            checks["storage"] = "ok"
        except Exception as error:  # noqa: BLE001
            ready = False
            checks["storage"] = f"unreachable: {getattr(error, 'detail', type(error).__name__)}"
            log.warning("readiness: evidence storage check failed: %s", error)
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return Response(json.dumps(body), 200 if ready else 503, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})


def _may_scrape(allowed, token: str | None) -> bool:
    if token:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed)


def _migration_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    from ..migrate import alembic_config

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def _add_request_id(response: Response, rid: str) -> None:
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return
    if isinstance(body, dict):
        body["request_id"] = rid
        response.set_data(json.dumps(body, ensure_ascii=False))
