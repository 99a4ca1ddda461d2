"""/api/v1/tasks: the caller's queues, a task with its form, and claim / release / assign / complete."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..cases import commands, task_page
from ..queues import views as queue_views
from .context import actor, services
from .schemas import (
    AssignSchema,
    CompleteSchema,
    DraftSchema,
    LangSchema,
    OutcomeSchema,
    TaskDetailSchema,
    TaskListSchema,
    TaskQuerySchema,
)

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks waiting for people")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskListSchema)
    def get(self, args):
        """A queue tab: `mine`, `team` (my roles, unassigned), `org` (all open in my organization), `overdue`;
        with `counts=true`, every tab's count as well"""
        page, counts = queue_views.queue_tab(
            services(), actor(), args["tab"], page=args["page"], per_page=args["per_page"], sort=args["sort"],
            program_id=args.get("program_id"), search=args.get("q"), with_counts=args["counts"],
        )
        found = {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}
        if counts is not None:
            found["counts"] = counts
        return found


@blp.route("/<uuid:task_id>")
class TaskResource(MethodView):
    @blp.arguments(LangSchema, location="query")
    @blp.response(200, TaskDetailSchema)
    def get(self, args, task_id):
        """A task with its form (JSON Schema and UI schema, localized) and the data to start from"""
        form = task_page.task_form(services(), actor(), str(task_id), args["lang"])
        item = form["item"]
        return {
            **{field: getattr(item, field) for field in TaskDetailSchema().fields if hasattr(item, field)},
            "case_version": form["case"].version,
            "form_schema": form["schema"],
            "ui_schema": form["ui_schema"],
            "data": form["data"],
            "may_work": form["may_work"],
            "context": [{"path": c.path, "title": c.title, "value": c.value} for c in form["context"]],
            "instructions": str(form["instructions"]) if form["instructions"] else None,
        }


@blp.route("/<uuid:task_id>/claim")
class TaskClaim(MethodView):
    @blp.response(200, OutcomeSchema)
    def post(self, task_id):
        """Take a task from the team queue; 409 when someone else was faster"""
        return commands.claim_task(services(), actor(), str(task_id))


@blp.route("/<uuid:task_id>/release")
class TaskRelease(MethodView):
    @blp.response(200, OutcomeSchema)
    def post(self, task_id):
        """Give a task back to the team queue"""
        return commands.release_task(services(), actor(), str(task_id))


@blp.route("/<uuid:task_id>/assign")
class TaskAssign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, OutcomeSchema)
    def post(self, args, task_id):
        """Hand a task to a colleague who holds its role (managers)"""
        return commands.assign_task(services(), actor(), str(task_id), args["user_id"])


@blp.route("/<uuid:task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, OutcomeSchema)
    def post(self, args, task_id):
        """Submit the task's form; 422 lists field errors by JSON pointer, 409 when the case moved on"""
        return commands.complete_task(services(), actor(), str(task_id), args["data"], args["expected_version"])


@blp.route("/<uuid:task_id>/draft")
class TaskDraft(MethodView):
    @blp.arguments(DraftSchema)
    @blp.response(204)
    def post(self, args, task_id):
        """Save unsubmitted form data (not validated)"""
        commands.save_draft(services(), actor(), str(task_id), args["data"])
