"""Errors as RFC 9457 problem details (`application/problem+json`), never a traceback."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from ..errors import TejunError

PROBLEM = "application/problem+json"
log = logging.getLogger("tejun.api")


class FieldErrorSchema(ma.Schema):
    pointer = ma.fields.String(metadata={"description": "JSON pointer into the submitted data"})
    message = ma.fields.String()
    keyword = ma.fields.String()


class ProblemSchema(ma.Schema):
    type = ma.fields.String(dump_default="about:blank")
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    current_version = ma.fields.Integer()
    request_id = ma.fields.String(metadata={"description": "the request's id, as in X-Request-ID and the logs"})


def problem(status: int, title: str, detail: str | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def _flatten(messages, prefix="") -> list[dict]:
    """webargs/marshmallow messages ({"json": {"field": ["msg"]}}) as pointer/message pairs."""
    found = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if prefix == "" and key in ("json", "query", "form", "files", "headers", "path"):
                found += _flatten(value, "")
            else:
                found += _flatten(value, f"{prefix}/{key}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found += [{"pointer": prefix, "message": m} for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found += _flatten(value, f"{prefix}/{index}")
    else:
        found.append({"pointer": prefix, "message": str(messages)})
    return found


# writes that can meet a task or case someone else changed first (Conflict in service/cases/commands.py) or a
# stale profile version (service/disclosures)
_CONFLICTS = re.compile(r"/tasks/\{task_id\}/(claim|release|assign|complete|draft)$|/cases/\{case_id\}/messages$"
                        r"|/disclosures/me$")


def errors_of(path: str, method: str) -> set[int]:
    """The problems an API operation may answer, as the guard and the use cases raise them."""
    # every operation: 422 for a value the input rules refuse (NUL, lone surrogates: service/input_guard.py), and
    # for writes 400 for a body that is no acceptable JSON (NaN, giant integers, deep nesting)
    if path.endswith("/auth/token"):
        return {400, 401, 422, 429}  # bad JSON, wrong password, malformed request, too many failed sign-ins
    found = {401, 403, 422}  # not signed in; the token lacks the read or write scope; the input rules
    if "{" in path or (path.endswith("/cases") and method == "post"):
        found.add(404)  # outside the caller's scope looks the same as absent
    if method != "get":
        found.add(400)  # a bad CSRF token (session callers) or an invalid request (422: with the arguments)
    if method != "get" and _CONFLICTS.search(path):
        found.add(409)
    return found


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        saved = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved

    def register_blueprint(self, blp, *, parameters=None, **options):
        super().register_blueprint(blp, parameters=parameters, **options)
        self._document_errors()

    def _document_errors(self) -> None:
        """Every operation lists the problems it may answer (application/problem+json, the Problem schema)."""
        for path, item in self.spec._paths.items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(errors_of(path, method)):
                    responses.setdefault(str(status), self.spec.components.get_ref("response",
                                                                                   HTTPStatus(status).name))

    def handle_http_exception(self, error: HTTPException):
        """flask-smorest answers every HTTP error of the app (not only the API's): pages get their error page."""
        if not wants_problem():
            from ..web.errors import page_for

            return page_for(error)
        data = getattr(error, "data", None) or {}
        errors = _flatten(data["messages"]) if "messages" in data else data.get("errors")
        detail = data.get("message") or error.description
        if errors and error.code == 422:
            detail = f"{len(errors)} field(s) need attention"
        response = problem(error.code or 500, error.name, detail, errors=errors)
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


def wants_problem() -> bool:
    """API paths, and the pages' JSON endpoints (form.js), answer problem+json; other pages an error page."""
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def tejun_error(error: TejunError):
    return problem(error.status, error.title, error.detail, **error.extra)


def unexpected_error(error: Exception):
    log.exception("unhandled error")
    return problem(500, "Internal Server Error", "something went wrong on our side; it has been logged")
