"""/api/v1/auth/token: exchange a username and password for a bearer token (the only anonymous call)."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import tokens
from ..auth.authenticate import authenticate
from ..errors import N_, ValidationFailed
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
        issued = tokens.issue_for(svc, user_id, args["name"], args["scopes"],
                                  timedelta(days=args["expires_in_days"]))
        return {"token": issued.plain, "token_type": "Bearer", "expires_at": issued.expires_at,
                "scopes": issued.scopes}


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenInfoSchema(many=True))
    def get(self):
        """The caller's own tokens (never the token values)"""
        return tokens.own_tokens(services(), actor())


@blp.route("/tokens/<int:token_id>")
class TokenRevocation(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of the caller's tokens; it stops working at once"""
        tokens.revoke_own(services(), actor(), token_id)
