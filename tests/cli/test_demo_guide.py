"""`flask demo` prints a short guide: an account for each kind of user, and which demo case is at which stage."""

from __future__ import annotations

from sqlalchemy import select

from service import demo, demo_cases
from service.models import Case


def test_demo_output_names_an_account_per_kind_of_user_and_a_case_per_stage(app, svc):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    guide = out[out.index("Sign in at"):]
    # every kind of user, with the account to sign in with
    for username, kind in demo.KINDS.items():
        line = next(line for line in guide.splitlines() if line.strip().startswith(username + " "))
        assert kind in guide.split(line, 1)[1].splitlines()[1], username
    for kind in ("case officer", "manager", "research security officer", "institution administrator", "researcher",
                 "ministry officer", "process designer", "auditor", "system administrator"):
        assert kind in guide, kind
    # every demo case with its reference and stage, and who acts next
    with svc.db.reader() as session:
        references = dict(session.execute(select(Case.title, Case.reference)
                                          .where(Case.title.in_(list(demo_cases.GUIDE)))).all())
    assert set(references) == set(demo_cases.GUIDE)
    cases = guide[guide.index("Demo cases"):]
    for title, (stage, who) in demo_cases.GUIDE.items():
        assert f"{references[title]}" in cases and title in cases
        assert f"{stage} -> {who}" in cases, title
    for stage in ("roster", "identification", "assessment", "FA review", "additional mitigation", "follow-up",
                  "closed", "designation"):
        assert stage in cases, stage
    print(guide)
