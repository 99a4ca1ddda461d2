"""Paging for the API's lists: `page` and `per_page` in the query, as GET /api/v1/cases takes them, and the
list envelope `{items, total, page, per_page}` every list answers with."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from .schemas import StrictSchema

ID = validate.Range(min=1, max=2**31 - 1)


class PageQuerySchema(StrictSchema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class LangPageQuerySchema(PageQuerySchema):
    lang = ma.fields.String(load_default="ja", validate=validate.OneOf(["ja", "en"]),
                            metadata={"description": "the language of step titles"})


def envelope(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A list schema `{items: [item], total, page, per_page}` named `name`."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "total": ma.fields.Integer(),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
    }, name=name)


def page_of(rows: list, args: dict) -> dict:
    """One page of an already filtered list (lists of one case are short: steps, events, files)."""
    page, per_page = args["page"], args["per_page"]
    start = (page - 1) * per_page
    return {"items": rows[start:start + per_page], "total": len(rows), "page": page, "per_page": per_page}
