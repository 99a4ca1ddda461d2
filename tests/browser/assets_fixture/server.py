"""A stand-in for tejun's pages, for tests/browser/test_assets.py.

Serves the fixture pages and service/web/static/ under the production Content-Security-Policy, and fakes the
task endpoints that form.js talks to:

  POST /api/tasks/7/submit       201 {"next_url"}; 422 problem+json with errors[].pointer when a member's
                                 e-mail ends with @blocked.example; 409 when the title is "競合テスト",
                                 500 when it is "障害テスト"
  POST /api/tasks/7/draft        200 {"saved_at"}
  POST /api/tasks/7/attachments  201 {"id", "name", "size", "content_type"}; 415 / 413 problem+json
Every POST must carry the page's CSRF token in X-CSRFToken (else 403). Requests are recorded in
app.config["REQUESTS"] for the test to inspect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, Response, abort, jsonify, request, send_file, send_from_directory
from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
STATIC = HERE.parents[2] / "service" / "web" / "static"
CSRF_TOKEN = "fixture-csrf-token"

# What tejun's pages are served with (img-src data: is for an icon in bpmn-js.css).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

INITIAL_DATA = {
    "project_title": "量子センシングの基盤研究",
    "members": [{"name": "山田 花子", "email": "hanako@example.ac.jp", "role": "pi"}],
}
ALLOWED_UPLOADS = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
MAX_UPLOAD = 1024 * 1024


def _json_block(value) -> str:
    # Safe inside <script type="application/json">: no "</script>" can appear.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _problem(status: int, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": "Request refused", "status": status, "detail": detail, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status, content_type="application/problem+json")


def create_app(diagram: dict) -> Flask:
    """diagram: {"xml_path": Path, "completed": [...], "active": [...], "process_id": str | None}."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["REQUESTS"] = []
    uploads = iter(range(1, 10_000))

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.before_request
    def check_csrf():
        if request.method == "POST" and request.path.startswith("/api/"):
            body = request.get_json(silent=True) if request.is_json else None
            app.config["REQUESTS"].append(
                {"path": request.path, "csrf": request.headers.get("X-CSRFToken"), "json": body}
            )
            if request.headers.get("X-CSRFToken") != CSRF_TOKEN:
                return _problem(403, "CSRF token missing or wrong.")
        return None

    def page(name: str, **values: str) -> Response:
        html = (HERE / name).read_text(encoding="utf-8")
        for key, value in values.items():
            html = html.replace("{{" + key + "}}", value)
        return Response(html, content_type="text/html; charset=utf-8")

    @app.get("/form.html")
    def form_page():
        lang = request.args.get("lang", "ja")
        sent_back = {
            "pointer": "/project_title",
            "message": "前回の提出で差し戻されました：課題名を正式名称にしてください。",
        }
        errors = [sent_back] if request.args.get("errors") else []
        return page(
            "form.html",
            LANG=lang,
            SCHEMA=_json_block(json.loads((HERE / "form.schema.json").read_text(encoding="utf-8"))),
            UISCHEMA=_json_block(json.loads((HERE / "form.uischema.json").read_text(encoding="utf-8"))),
            DATA=_json_block(INITIAL_DATA),
            ERRORS=_json_block(errors),
        )

    @app.get("/diagram.html")
    def diagram_page():
        data = {k: diagram.get(k) for k in ("completed", "active", "process_id")}
        return page("diagram.html", DIAGRAM_DATA=_json_block({"xml_url": "/diagram.bpmn", **data}))

    @app.get("/diagram.bpmn")
    def diagram_xml():
        return send_file(diagram["xml_path"], mimetype="application/xml")

    @app.get("/app.html")
    def app_page():
        now = datetime.now(UTC)
        return page(
            "app.html",
            THREE_DAYS_AGO=(now - timedelta(days=3)).isoformat(timespec="seconds"),
            IN_TWO_HOURS=(now + timedelta(hours=2, minutes=1)).isoformat(timespec="seconds"),
        )

    @app.get("/done.html")
    def done_page():
        return page("done.html")

    @app.route("/echo", methods=["GET", "POST"])
    def echo():
        values = {**request.args.to_dict(), **request.form.to_dict()}
        echoed = f"{request.method} {_json_block(values)}"
        body = f'<!doctype html><meta charset="utf-8"><pre id="echo">{echoed}</pre>'
        return Response(body, content_type="text/html; charset=utf-8")

    @app.get("/csp-canary.html")
    def canary_page():
        return page("csp-canary.html")

    @app.get("/fixture/<name>")
    def fixture_file(name: str):
        if Path(name).suffix not in {".css", ".js"}:
            abort(404)
        return send_from_directory(HERE, name)

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.post("/api/tasks/7/submit")
    def submit():
        data = (request.get_json(silent=True) or {}).get("data")
        if not isinstance(data, dict):
            return _problem(400, 'Body must be {"data": {...}}.')
        if data.get("project_title") == "競合テスト":
            return _problem(409, "この作業は田中さんがすでに完了しました。")
        if data.get("project_title") == "障害テスト":
            return _problem(500, "内部エラーが発生しました。")
        errors = [
            {"pointer": f"/members/{i}/email", "message": "このメールアドレスの研究者は確認が必要です。"}
            for i, member in enumerate(data.get("members") or [])
            if str(member.get("email", "")).endswith("@blocked.example")
        ]
        if errors:
            return _problem(422, "入力内容を確認してください。", errors=errors)
        return jsonify({"next_url": "/done.html"}), 201

    @app.post("/api/tasks/7/draft")
    def draft():
        if not isinstance((request.get_json(silent=True) or {}).get("data"), dict):
            return _problem(400, 'Body must be {"data": {...}}.')
        return jsonify({"saved_at": datetime.now(UTC).isoformat()})

    @app.post("/api/tasks/7/attachments")
    def upload():
        file = request.files.get("file")
        if file is None or not file.filename:
            return _problem(400, "ファイルがありません。")
        suffix = Path(file.filename).suffix.lower()
        if suffix not in ALLOWED_UPLOADS:
            return _problem(415, "このファイル形式はアップロードできません（PDF・PNG・JPEG のみ）。")
        content = file.read()
        if len(content) > MAX_UPLOAD:
            return _problem(413, "ファイルが大きすぎます（1 MB まで）。")
        app.config["REQUESTS"][-1]["upload"] = file.filename
        return jsonify(
            {
                "id": f"att-{next(uploads)}",
                "name": file.filename,
                "size": len(content),
                "content_type": ALLOWED_UPLOADS[suffix],
            }
        ), 201

    @app.errorhandler(404)
    def not_found(_):
        return Response("not found", 404, content_type="text/plain")

    return app


class FixtureServer:
    """The app on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, diagram: dict):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.app = create_app(diagram)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[dict]:
        return self.app.config["REQUESTS"]

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5)


if __name__ == "__main__":  # python tests/browser/assets_fixture/server.py  -> browse the pages by hand
    fixture = {
        "xml_path": HERE / "process.bpmn",
        "completed": ["start", "f1", "fill_disclosure", "f2"],
        "active": ["review"],
        "process_id": "fixture_case",
    }
    with FixtureServer(fixture) as srv:
        print(f"serving {srv.url}/form.html, /diagram.html, /app.html  (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
