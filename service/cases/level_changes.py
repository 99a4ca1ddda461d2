"""Lowering a case's risk level needs a reason: the server's side of the form's rule.

The form says it with a JSON Schema if-then over the level the round started with, which the form shows (and the
client sends back). The server does not take the client's word for that level: a user task that lets its worker
change the level names, in `spiffworkflow:property` values, where the levels are

| property | value |
| --- | --- |
| `levelBefore` | key of the task's data holding the level the round started with (`additional_level_before`) |
| `levelNow` | key of the task's data holding the level now, after any reassessment (`risk_level`) |
| `revisedLevelField` | dotted path in the submitted data of the level the worker sets, if any |
| `levelChangeReasonField` | dotted path in the submitted data of the reason |

and a submission whose resulting level (the revised one, else the current one) is below the level before, without
a reason, is refused (422) at the reason's field, in the worker's language.
"""

from __future__ import annotations

from ..errors import ValidationFailed
from ..forms.context import lookup, split_path
from ..notifications.texts import N_, text

LOWERED_WITHOUT_REASON = N_("The level goes down from %(before)s to %(after)s: give the reason.")


def _value(level) -> int | None:
    if isinstance(level, str) and len(level) == 2 and level[0] == "L" and level[1].isdigit():
        return int(level[1])
    return None


def check_level_change(properties: dict, task_data: dict, data: dict, locale: str | None = "ja") -> None:
    """Refuse a submission that lowers the level without a reason (the task declares the levels, see above)."""
    before_key, reason_path = properties.get("levelBefore"), properties.get("levelChangeReasonField")
    if not before_key or not reason_path:
        return
    before = task_data.get(before_key)
    revised = lookup(data, properties["revisedLevelField"]) if properties.get("revisedLevelField") else None
    after = revised or task_data.get(properties.get("levelNow") or "risk_level")
    if _value(before) is None or _value(after) is None or _value(after) >= _value(before):
        return
    reason = lookup(data, reason_path)
    if isinstance(reason, str) and reason.strip():
        return
    pointer = "/" + "/".join(str(p) for p in split_path(reason_path))
    raise ValidationFailed([{"pointer": pointer, "keyword": "required",
                             "message": text(locale, LOWERED_WITHOUT_REASON, before=before, after=after)}])


def check_submission(session, case, item, flow, actor, data) -> None:
    """The `before_task_completed` hook (service/wiring.py)."""
    task = flow.human_task(item.task_id)
    check_level_change(task.properties, task.data, data, actor.locale)
