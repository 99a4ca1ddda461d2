"""/api/v1/cases: list, start, read cases; send them messages; restart a case in error."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.permissions import View
from ..cases import commands, queries
from .context import actor, services
from .schemas import CaseListSchema, CaseQuerySchema, CaseSchema, CaseStartSchema, MessageSchema, OutcomeSchema

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases: one per project")


def shown(case, view: View) -> dict:
    """The case as the caller may see it (as on its page): why it stopped in error and the case-wide risk level
    only for a full view."""
    body = {name: getattr(case, name) for name in CaseSchema().fields}
    if view < View.FULL:
        body["error_message"] = None
        body["risk_level"] = None
    return body


@blp.route("")
class Cases(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseListSchema)
    def get(self, args):
        """Cases the caller may see, newest change first"""
        page, views = queries.list_cases_for(
            services(), actor(), status=args.get("status"), program_id=args.get("program_id"),
            search=args.get("q"), sort=args["sort"], page=args["page"], per_page=args["per_page"],
            stage=args.get("stage"), risk_level=args.get("risk_level"), institution_id=args.get("institution_id"),
        )
        items = [shown(case, view) for case, view in zip(page.items, views, strict=True)]
        return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}

    @blp.arguments(CaseStartSchema)
    @blp.response(201, OutcomeSchema)
    def post(self, args):
        """Open a case for a project under a call (lead institution staff)"""
        return commands.start_case(
            services(), actor(), call_id=args["call_id"], lead_institution_id=args["lead_institution_id"],
            title=args["title"], variant=args["variant"], partner_ids=tuple(args["partner_ids"]),
            erad_project_number=args["erad_project_number"], project_end_date=args["project_end_date"],
        )


@blp.route("/<int:case_id>")
class CaseResource(MethodView):
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """One case"""
        case, view = queries.case_for(services(), actor(), case_id)
        return shown(case, view)


@blp.route("/<int:case_id>/messages")
class CaseMessages(MethodView):
    @blp.arguments(MessageSchema)
    @blp.response(200, OutcomeSchema)
    def post(self, args, case_id):
        """Deliver a message the case waits for (e.g. `withdraw`, `member_added`)"""
        return commands.send_message(services(), actor(), case_id, args["name"], args["payload"])


@blp.route("/<int:case_id>/retry")
class CaseRetry(MethodView):
    @blp.alt_response(409, "CONFLICT")
    @blp.response(200, OutcomeSchema)
    def post(self, case_id):
        """Restart a case in error after its cause was fixed (system administrators): the engine tries again.
        403 for anyone else who can see the case (404 if not), 409 when the case is not in error"""
        return commands.retry_case(services(), actor(), case_id)
