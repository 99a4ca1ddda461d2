"""The one blueprint every page route is on (endpoints `web.*`)."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def services():
    return current_app.extensions["tejun"]
