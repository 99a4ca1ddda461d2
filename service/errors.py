"""Errors a use case may raise; the web and API layers map each to one HTTP status and a clear message.

A use case writes its message in English, marked with `N_` and with its variable parts in `params`:

    raise Conflict(N_("the case is not waiting for '%(name)s' now"), params={"name": name})

`detail` is then the English text (the API's problem+json, logs and audit events keep it), and pages show
the same message in the reader's language (`service.web.errors.message_for`), the catalogs holding the
template as msgid.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks a message for the catalogs (`make catalogs-update` extracts `N_`); translated where it is shown."""
    return text


class TejunError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", params: dict | None = None, **extra):
        self.template = detail or self.title
        self.params = dict(params or {})
        self.detail = self.template % self.params if self.params else self.template
        super().__init__(self.detail)
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


class DatabaseUnavailable(TejunError):
    """The database cannot be reached (restarting, failing over, connections dropped): nothing was written by
    this request's transaction; the client tries again after Retry-After (a 503, never a 500)."""

    status = 503
    title = "Service Unavailable"
    retry_after = 2


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
