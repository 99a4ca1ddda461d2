"""HTML error pages: a clear message in the user's language, never a traceback."""

from __future__ import annotations

import logging

from flask import render_template
from werkzeug.exceptions import HTTPException

from ..errors import TejunError

log = logging.getLogger("tejun.web")


def page_for(error: Exception):
    if isinstance(error, TejunError):
        status, title, detail = error.status, error.title, error.detail
    elif isinstance(error, HTTPException):
        status, title, detail = error.code or 500, error.name, error.description
    else:
        log.exception("unhandled error")
        status, title, detail = 500, "Internal Server Error", ""
    return render_template("error.html", status=status, title=title, detail=detail), status
