"""Form schemas in the page's language, reference lists included.

`cases.forms.expanded_schema` fills `x-reference` lists with Japanese labels (what validation needs); pages
in another language get the lists' labels in that language here, then `localize` for the form's own texts.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from ..cases.forms import expanded_schema
from ..designer.store import form_json
from ..forms import references
from ..forms.schema import expand_references, localize
from ..models import Case

_cache: dict[tuple[int, str, str], tuple[float, dict]] = {}


def form_schema(session: Session, case: Case, form: str | None, lang: str) -> dict | None:
    if not form:
        return None
    if lang == "ja":
        schema = expanded_schema(session, case, form)
        return localize(schema, lang) if schema is not None else None
    key = (case.model_version_id, form, lang)
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    raw = form_json(session, case.model_version_id, form)
    if raw is None:
        return None
    schema = localize(expand_references(raw, references.provider(session), lang), lang)
    _cache[key] = (time.monotonic() + references.TTL_SECONDS, schema)
    return schema
