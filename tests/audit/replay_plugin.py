"""A pytest plugin: after each test, every case the test created must replay identically from its record.

    .venv/bin/pytest tests/procedure -p tests.audit.replay_plugin

(or `pytest_plugins = ["tests.audit.replay_plugin"]` in a conftest). A case that does not replay fails the
test at teardown, naming the case and the first difference.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.audit.replay import replay_and_compare
from service.models import Case


@pytest.fixture(autouse=True)
def _cases_replay_identically(request):
    if "svc" not in request.fixturenames:
        yield
        return
    svc = request.getfixturevalue("svc")
    with svc.db.reader() as session:
        before = session.scalar(select(func.max(Case.id))) or 0
    yield
    with svc.db.reader() as session:
        created = session.scalars(select(Case).where(Case.id > before).order_by(Case.id)).all()
        different = []
        for case in created:
            result = replay_and_compare(session, case)
            if not result.identical:
                different.append(f"case {case.id} ({case.title}): {result.first}")
    assert not different, "cases that do not replay identically:\n" + "\n".join(different)
