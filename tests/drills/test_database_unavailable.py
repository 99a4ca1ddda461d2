"""A request whose database connection fails (PostgreSQL restarting, a dropped connection) answers 503 with
Retry-After, as a problem for the API and an error page for pages, never a 500 (found by the fault drill)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import InterfaceError, OperationalError

from tests.web.helpers import bearer, sign_in


@pytest.mark.parametrize("error", [
    OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
    InterfaceError("SELECT 1", {}, Exception("the connection is closed")),
])
def test_a_lost_database_is_a_503_with_retry_after(app, client, world, monkeypatch, error):
    from service.queues import queries

    def lost(*_args, **_kwargs):
        raise error

    headers, browser = bearer(client, world, "fa_officer"), sign_in(app, world, "fa_officer")
    monkeypatch.setattr(queries, "queue", lost)
    response = client.get("/api/v1/tasks?tab=team", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.get_json()["title"] == "Service Unavailable"
    page = browser.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"


def test_a_read_session_whose_connection_died_does_not_fail_the_answer(app, client, world, monkeypatch):
    """The request's read session is closed after the answer is made; its ROLLBACK on a connection PostgreSQL
    closed (restart) used to raise there and turn a finished answer into a bare 500."""
    import sys

    from sqlalchemy.orm import Session

    closed = []
    real_close = Session.close

    def dead_close(self):
        if sys._getframe(1).f_code.co_name != "close_read_session":
            return real_close(self)
        closed.append(self)
        real_close(self)
        raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))

    headers = bearer(client, world, "fa_officer")
    monkeypatch.setattr(Session, "close", dead_close)
    response = client.get("/api/v1/tasks?tab=team", headers=headers)
    monkeypatch.undo()
    assert closed and response.status_code == 200
