"""Request context for API resources: the services, the signed-in actor, and the auth guard."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from ..auth.actor import Actor
from ..errors import Forbidden, Unauthorized
from ..services import Services

ANONYMOUS_ENDPOINTS = {"auth.Token"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def services() -> Services:
    return current_app.extensions["tejun"]


def actor() -> Actor:
    return current_user.actor


def guard() -> None:
    """Every API endpoint needs a signed-in user, except asking for a token; tokens carry scopes."""
    if request.endpoint in ANONYMOUS_ENDPOINTS:
        return
    if not current_user.is_authenticated:
        raise Unauthorized("sign in, or send 'Authorization: Bearer <token>'")
    needed = "read" if request.method in SAFE_METHODS else "write"
    if needed not in current_user.scopes:
        raise Forbidden(f"this token lacks the '{needed}' scope")
