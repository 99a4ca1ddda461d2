"""Marshmallow schemas of the API: what goes in (validated, unknown fields refused) and what comes out."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from .. import erad
from ..queues.queries import SORTS, TABS


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class CaseSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    variant = ma.fields.String()
    status = ma.fields.String()
    outcome = ma.fields.String(allow_none=True)
    stage = ma.fields.String(allow_none=True)
    risk_level = ma.fields.String(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    erad_project_number = ma.fields.String(allow_none=True)
    funding_agency_id = ma.fields.Integer()
    lead_institution_id = ma.fields.Integer(allow_none=True)
    program_id = ma.fields.Integer(allow_none=True)
    call_id = ma.fields.Integer(allow_none=True)
    model_version_id = ma.fields.Integer()
    version = ma.fields.Integer()
    next_wakeup_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CaseListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CaseSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class CaseQuerySchema(StrictSchema):
    status = ma.fields.String(validate=validate.OneOf(["running", "completed", "error"]))
    program_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    institution_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                       metadata={"description": "the lead institution"})
    stage = ma.fields.String(validate=validate.Length(max=32))
    risk_level = ma.fields.String(validate=validate.Length(max=8), metadata={
        "description": "only cases the caller sees in full (whose risk level they may read) match"})
    q = ma.fields.String(validate=validate.Length(max=200))
    sort = ma.fields.String(load_default="updated", validate=validate.OneOf(
        ["updated", "-updated", "created", "-created", "reference"]))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CaseStartSchema(StrictSchema):
    call_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    lead_institution_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    variant = ma.fields.String(load_default="domestic", validate=validate.OneOf(["domestic", "foreign_joint"]))
    partner_ids = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), load_default=list,
        validate=validate.Length(max=50),
    )
    erad_project_number = ma.fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(erad.PROJECT_NUMBER, error=erad.PROJECT_NUMBER_RULE),
        metadata={"description": "the e-Rad project number (課題番号): " + erad.PROJECT_NUMBER_RULE,
                  "example": "JP26-0042"},
    )
    project_end_date = ma.fields.Date(load_default=None, allow_none=True)


class MessageSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "the message: `withdraw`, `member_added`, `partner_added` (people with the role the "
                       "message's registry names); `screening_hit` and `disclosure_changed` are sent by tejun "
                       "itself and refused (403) to everyone else"})
    payload = ma.fields.Dict(load_default=dict, metadata={
        "description": "checked against the message's JSON Schema (forms/messages/<name>.schema.json); "
                       "problems are a 422 with pointers (`/payload/trigger/member/name`)"})


class OutcomeSchema(ma.Schema):
    case_id = ma.fields.Integer()
    version = ma.fields.Integer()
    status = ma.fields.String()
    next_task_ids = ma.fields.List(ma.fields.String())
    error = ma.fields.String(allow_none=True)
    held = ma.fields.Boolean(metadata={"description": "true when a roster change or the FA's follow-up request "
                                                      "was recorded but is held until the case can take it; the "
                                                      "case itself did not move"})


class TaskSchema(ma.Schema):
    task_id = ma.fields.String()
    case_id = ma.fields.Integer()
    case_reference = ma.fields.String()
    case_title = ma.fields.String()
    element_id = ma.fields.String()
    title = ma.fields.String()
    title_en = ma.fields.String()
    role = ma.fields.String()
    organization_id = ma.fields.Integer()
    assignee_id = ma.fields.Integer(allow_none=True)
    stage = ma.fields.String(allow_none=True)
    priority = ma.fields.Integer()
    due_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    program_id = ma.fields.Integer(allow_none=True)
    lead_institution_id = ma.fields.Integer(allow_none=True)


class TaskListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "every tab's count, only when asked for with `counts=true`"})


class TaskQuerySchema(StrictSchema):
    tab = ma.fields.String(load_default="mine", validate=validate.OneOf(TABS))
    program_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    q = ma.fields.String(validate=validate.Length(max=200))
    sort = ma.fields.String(load_default="due", validate=validate.OneOf(list(SORTS)))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
    counts = ma.fields.Boolean(load_default=False, metadata={
        "description": "also count every tab (`mine`, `team`, `org`, `overdue`): four more counts, so only on "
                       "request (a client fetching its next task does not need them)"})


class TaskContextSchema(ma.Schema):
    """One entry the model shows beside the form (docs/modeling.md), as far as the caller may see it."""

    path = ma.fields.String(metadata={"description": "where in the task data the value comes from"})
    title = ma.fields.String(metadata={"description": "the entry's title in the requested language"})
    value = ma.fields.Raw(allow_none=True, metadata={"description": "the value as the case data holds it"})


class TaskDetailSchema(TaskSchema):
    case_version = ma.fields.Integer()
    form_schema = ma.fields.Dict(allow_none=True)
    ui_schema = ma.fields.Dict()
    data = ma.fields.Dict()
    may_work = ma.fields.Boolean()
    context = ma.fields.List(ma.fields.Nested(TaskContextSchema), metadata={
        "description": "earlier information the worker sees read-only beside the form, filtered by permissions"})
    instructions = ma.fields.String(allow_none=True, metadata={
        "description": "the task's instructions as safe HTML (Markdown rendered, no raw HTML), or null"})


class LangSchema(StrictSchema):
    lang = ma.fields.String(load_default="ja", validate=validate.OneOf(["ja", "en"]))


class CompleteSchema(StrictSchema):
    data = ma.fields.Dict(required=True)
    expected_version = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class DraftSchema(StrictSchema):
    data = ma.fields.Dict(required=True)


class AssignSchema(StrictSchema):
    user_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class ModelFileSchema(ma.Schema):
    path = ma.fields.String()
    kind = ma.fields.String()
    sha256 = ma.fields.String()


class ModelVersionSchema(ma.Schema):
    id = ma.fields.Integer()
    set_name = ma.fields.String()
    content_hash = ma.fields.String()
    status = ma.fields.String()
    comment = ma.fields.String()
    created_at = ma.fields.DateTime()
    published_at = ma.fields.DateTime(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(ModelFileSchema))


class TokenRequestSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=150))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    name = ma.fields.String(load_default="api", validate=validate.Length(min=1, max=100))
    scopes = ma.fields.List(ma.fields.String(validate=validate.OneOf(["read", "write"])), load_default=None)
    expires_in_days = ma.fields.Integer(load_default=90, validate=validate.Range(min=1, max=365))


class TokenSchema(ma.Schema):
    token = ma.fields.String()
    token_type = ma.fields.String(dump_default="Bearer")
    expires_at = ma.fields.DateTime()
    scopes = ma.fields.List(ma.fields.String())


class TokenInfoSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    scopes = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)
