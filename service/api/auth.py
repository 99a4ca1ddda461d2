"""/api/v1/auth/token: exchange a username and password for a bearer token (the only anonymous call)."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import tokens
from ..auth.authenticate import authenticate
from ..models import User
from ..unit_of_work import unit_of_work
from .context import services
from .schemas import TokenRequestSchema, TokenSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens for API clients")


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, args):
        """Sign in and receive a token (shown once; only its hash is stored)"""
        svc = services()
        user_id = authenticate(svc, args["username"], args["password"], request.remote_addr)
        with unit_of_work(svc) as session:
            user = session.get(User, user_id)
            plain, token = tokens.issue(
                session, user, args["name"], args["scopes"], timedelta(days=args["expires_in_days"])
            )
            return {"token": plain, "token_type": "Bearer", "expires_at": token.expires_at, "scopes": token.scopes}
