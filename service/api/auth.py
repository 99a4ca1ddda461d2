"""/api/v1/auth/token: exchange a username and password for a bearer token (the only anonymous call)."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth import tokens
from ..auth.authenticate import authenticate
from ..errors import N_, NotFound, TooManyAttempts, ValidationFailed
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
        """Sign in and receive a token (shown once; only its hash is stored). `scopes` left out means read and
        write; an empty list is a 422. A user holds at most TEJUN_API_TOKEN_MAX_ACTIVE valid tokens (422
        beyond) and is issued at most TEJUN_API_TOKEN_MAX_PER_HOUR within an hour (429 beyond)."""
        svc = services()
        if args["scopes"] is not None and not args["scopes"]:
            raise ValidationFailed([{"pointer": "/scopes", "message": N_("name at least one scope: read, write")}])
        user_id = authenticate(svc, args["username"], args["password"], request.remote_addr)
        settings = svc.settings
        with unit_of_work(svc) as session:
            try:
                tokens.check_quota(session, user_id, max_active=settings.api_token_max_active,
                                   max_per_hour=settings.api_token_max_per_hour)
            except tokens.QuotaExceeded as exc:
                if exc.kind == "active":
                    raise ValidationFailed([{"pointer": "", "message": N_(
                        "you hold the most valid tokens allowed already: revoke one first")}]) from None
                raise TooManyAttempts(N_("too many tokens issued within the hour: try again later")) from None
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
