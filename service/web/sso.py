"""Single sign-on pages: hand the browser to the OpenID Connect provider and take it back.

Authlib does the protocol: discovery, state and nonce, the code exchange, and the ID token's signature,
issuer, audience and expiry checks. Only configured when TEJUN_OIDC_ISSUER is set.
"""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from joserfc.errors import JoseError

from ..auth.sso import sign_in_from_claims
from ..errors import Forbidden

bp = Blueprint("sso", __name__)


def _idp():
    return current_app.extensions["tejun.oauth"].idp


def init_sso(app) -> bool:
    settings = app.extensions["tejun"].settings
    issuer = settings.oidc.get("issuer")
    if not issuer:
        return False
    oauth = OAuth(app)
    app.extensions["tejun.oauth"] = oauth
    oauth.register(
        "idp",
        client_id=settings.oidc.get("client_id"),
        client_secret=settings.oidc.get("client_secret"),
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc.get("scope") or "openid email profile"},
    )
    app.register_blueprint(bp)
    return True


@bp.get("/login/sso")
def start():
    return _idp().authorize_redirect(url_for("sso.callback", _external=True))


@bp.get("/login/sso/callback")
def callback():
    from .errors import message_for
    from .pages import start_session

    svc = current_app.extensions["tejun"]
    try:
        idp = _idp()
        token = idp.authorize_access_token()
        claims = token.get("userinfo") or idp.userinfo(token=token)
        issuer = idp.load_server_metadata()["issuer"]
        user_id = sign_in_from_claims(svc, issuer, dict(claims), request.remote_addr)
    except OAuthError as exc:
        flash(_("Single sign-on failed: %(reason)s", reason=exc.description or exc.error), "error")
        return redirect(url_for("web.login"))
    except JoseError as exc:
        # a token whose signature, issuer, audience, nonce or expiry does not check out
        current_app.logger.warning("refused an ID token: %s", exc)
        flash(_("Single sign-on failed: the identity provider's answer could not be verified."), "error")
        return redirect(url_for("web.login"))
    except Forbidden as exc:
        flash(message_for(exc), "error")
        return redirect(url_for("web.login"))
    login_user(start_session(user_id, "sso"))  # in a fresh cookie session
    session.permanent = True  # the cookie expires with the session's absolute lifetime
    return redirect(url_for("web.home"))
