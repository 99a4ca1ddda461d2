"""The Flask application factory: wires settings, database, sign-in, security headers, API, pages and CLI."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

from flask import Flask, make_response, request
from flask_login import current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.routing import IntegerConverter

from .api import admin as api_admin
from .api import auth as api_auth
from .api import case_data as api_case_data
from .api import cases as api_cases
from .api import catalog as api_catalog
from .api import consultations as api_consultations
from .api import disclosures as api_disclosures
from .api import model_versions as api_model_versions
from .api import screening as api_screening
from .api import tasks as api_tasks
from .api.context import guard
from .api.problems import Api, problem, tejun_error, unexpected_error
from .auth.session import authenticated_by_cookie, close_read_session, login_manager
from .config import Settings
from .errors import N_, DatabaseUnavailable, TejunError
from .input_guard import GuardedRequest, StrictJSONProvider, check_request
from .migrate import MIGRATIONS_DIR
from .models import Base
from .services import Services
from .wiring import register_hooks

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # bpmn-js and the form library set inline style attributes
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    settings = settings or Settings.from_env(**overrides)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.request_class = GuardedRequest  # integers in query strings and forms bounded (service/input_guard.py)
    app.json = StrictJSONProvider(app)  # no NaN, giant integers or deep nesting in JSON bodies
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        # the cookie's lifetime; the server ends the session itself (service/auth/sessions.py)
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_lifetime_hours),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,
        API_TITLE="tejun",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Research-security case management. Errors are application/problem+json."},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}],
        },
    )
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(settings.engine_log_level)

    register_hooks()  # what answers the use cases' hook points (service/task_hooks.py)
    svc = Services.from_settings(settings)
    app.extensions["tejun"] = svc
    from .observability import init_app as init_observability

    init_observability(app, svc)  # first: request ids for every later hook's log lines; /metrics, /readyz

    login_manager.init_app(app)
    csrf.init_app(app)
    Migrate(app, SimpleNamespace(metadata=Base.metadata), directory=str(MIGRATIONS_DIR))
    app.teardown_appcontext(close_read_session)

    api = Api(app)
    for module in (api_auth, api_cases, api_tasks, api_model_versions, api_screening, api_disclosures,
                   api_case_data, api_catalog, api_admin, api_consultations):
        api.register_blueprint(module.blp)
    app.register_error_handler(TejunError, _error_handler(tejun_error))
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(Exception, _error_handler(unexpected_error))
    for lost in (OperationalError, InterfaceError):  # the database went away mid-request: 503, not 500
        app.register_error_handler(lost, _database_unavailable)

    from .web import register as register_web

    register_web(app)

    app.before_request(check_request)  # NUL, lone surrogates, bad JSON: 4xx before any other check

    @app.before_request
    def _protect():
        if request.path.startswith("/api/"):
            guard()
            # browsers send the session cookie by themselves: their writes must carry the CSRF token. Only a
            # bearer token that authenticated the request spares it (a bearer header makes the cookie unused)
            writes = request.method not in ("GET", "HEAD", "OPTIONS")
            if writes and authenticated_by_cookie():
                csrf.protect()
        elif request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()

    @app.get("/healthz")
    def healthz():
        from sqlalchemy import text

        with svc.db.reader() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    app.after_request(_security_headers)

    from .cli import register as register_cli

    register_cli(app)
    return app


class DatabaseId(IntegerConverter):
    """`<int:...>` in routes: ids fit the database's 32-bit integer columns; a larger number matches no route
    (404), instead of reaching PostgreSQL, which refuses it with an error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _error_handler(api_handler):
    """API paths answer problem+json; pages answer an HTML error page."""

    def handle(error):
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return api_handler(error)
        from .web.errors import page_for

        return page_for(error)

    return handle


def _database_unavailable(error):
    reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0][:300]
    logging.getLogger("tejun.db").warning("database unavailable during %s %s: %s", request.method, request.path,
                                          reason)
    unavailable = DatabaseUnavailable(N_("the database cannot be reached right now; try again in a few seconds"))
    response = _error_handler(tejun_error)(unavailable)
    if isinstance(response, tuple):
        response = make_response(*response)
    response.headers["Retry-After"] = str(unavailable.retry_after)
    return response


def _csrf_failed(error: CSRFError):
    if request.path.startswith("/api/"):
        return problem(400, "CSRF token missing or wrong", error.description)
    from .web.errors import page_for

    return page_for(error)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/api/") or current_user.is_authenticated:
        headers.setdefault("Cache-Control", "no-store")
    return response
