"""/api/v1/auth/token: exchange a username and password for a bearer token (the only anonymous call)."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth import tokens
from ..auth.authenticate import authenticate
from ..errors import NotFound
from ..models import ApiToken, User
from ..unit_of_work import unit_of_work
from .context import actor, services
from .schemas import TokenInfoSchema, TokenRequestSchema, TokenSchema

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


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenInfoSchema(many=True))
    def get(self):
        """The caller's own tokens (never the token values)"""
        with services().db.reader() as session:
            return session.scalars(
                select(ApiToken).where(ApiToken.user_id == actor().user_id).order_by(ApiToken.id.desc())
            ).all()


@blp.route("/tokens/<int:token_id>")
class TokenRevocation(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of the caller's tokens; it stops working at once"""
        with unit_of_work(services()) as session:
            token = session.get(ApiToken, token_id)
            if token is None or token.user_id != actor().user_id:
                raise NotFound("no such token of yours")
            tokens.revoke(session, token)
