"""Errors a use case may raise; the web and API layers map each to one HTTP status and a clear message."""

from __future__ import annotations


class TejunError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(TejunError):
    """Absent, or outside the actor's scope: both look the same from outside (no existence leaks)."""

    status = 404
    title = "Not found"


class Forbidden(TejunError):
    """The actor may see the object but not do this to it."""

    status = 403
    title = "Forbidden"


class Conflict(TejunError):
    """Someone else changed it first (stale version, task already completed or claimed)."""

    status = 409
    title = "Conflict"


class ValidationFailed(TejunError):
    """Submitted data does not fit the form: `errors` lists `{pointer, message}` per field."""

    status = 422
    title = "Validation failed"

    def __init__(self, errors: list[dict], detail: str = ""):
        super().__init__(detail or f"{len(errors)} field(s) need attention", errors=errors)
        self.errors = errors


class InvalidRequest(TejunError):
    status = 400
    title = "Invalid request"


class Unauthorized(TejunError):
    status = 401
    title = "Authentication required"


class TooManyAttempts(TejunError):
    status = 429
    title = "Too many attempts"
