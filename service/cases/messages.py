"""The case messages: for each, the JSON Schema of its payload and who may send it.

One registry, used by `commands.send_message` (API, pages, tejun itself alike), by `queries.case_actions`
(which messages a case page offers) and by the page forms (`service/web/case_actions.py`), so a payload is
checked the same way wherever it comes from, and no payload reaches a case that its model cannot read.

Where each part lives, and why:

* **Payload schemas** are JSON files, `forms/messages/<message>.schema.json` (draft-07, like the task forms,
  with `x-i18n` titles): what a message carries is part of the process design, read by the model's scripts
  (e.g. `follow_up.bpmn` reads `trigger.member`), so a process designer changes it with the model, without
  code. They are read from the configured forms folder (`TEJUN_FORMS_DIR`), `messages/` beneath it, which
  the model sync (`forms/*.json`) does not pick up: they are not per model version.
* **Who may send** is access control, so it lives here, in code, beside the permission rules: a tuple of
  roles (the sender needs one of them in the organization `permissions.may_send` checks for that role: FA
  roles in the case's funding agency, institution roles in its lead institution), or `SYSTEM_ONLY` for the
  messages only tejun itself sends (`screening_hit` from the screening of new lists, `disclosure_changed`
  from a changed disclosure profile, both through `service/followups`). Every person asking to send those
  is refused (403: they see the case, but may not do this; 404 if they do not see it), whatever the lane
  of the waiting event.

A message name without an entry here is sent by nobody; an entry without a schema file (or a schema file
without an entry) stops the application at start-up (`registry()`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..auth.actor import Actor
from ..auth.permissions import may_send
from ..config import PROJECT_ROOT
from ..errors import ValidationFailed
from ..forms.schema import check_schema, validate
from ..models import Case

SYSTEM_ONLY = "system"

# message -> the roles that may send it (see the module's docstring), or SYSTEM_ONLY
SENDERS: dict[str, tuple[str, ...] | str] = {
    "withdraw": ("security_officer",),
    "member_added": ("security_officer",),
    "partner_added": ("security_officer",),
    "follow_up_requested": ("fa_officer",),
    "screening_hit": SYSTEM_ONLY,
    "disclosure_changed": SYSTEM_ONLY,
}
SCHEMA_SUFFIX = ".schema.json"


@dataclass(frozen=True)
class CaseMessage:
    name: str
    schema: dict[str, Any]
    senders: tuple[str, ...] | str

    @property
    def system_only(self) -> bool:
        return self.senders == SYSTEM_ONLY

    def may_send(self, actor: Actor, case: Case) -> bool:
        """May the actor send this message to this case (tejun itself: every message)?"""
        if actor.is_system:
            return True
        if self.system_only:
            return False
        return any(may_send(actor, case, role) for role in self.senders)

    def problems(self, payload: Any) -> list[dict]:
        """The payload's problems, with pointers into the message (`/payload/...`), as `send_message` takes it."""
        return [{"pointer": "/payload" + e.pointer, "message": e.message, "keyword": e.keyword}
                for e in validate(self.schema, payload)]

    def check(self, payload: Any) -> dict:
        found = self.problems(payload)
        if found:
            raise ValidationFailed(found)
        return payload


class MessageSetupError(RuntimeError):
    """The message schemas and SENDERS do not match, or a schema is not usable."""


_lock = threading.Lock()
_loaded: dict[Path, dict[str, CaseMessage]] = {}


def messages_dir(forms_dir: Path | None = None) -> Path:
    if forms_dir is None:
        from ..config import _env

        forms_dir = Path(_env("FORMS_DIR", str(PROJECT_ROOT / "forms")))
    return Path(forms_dir) / "messages"


def load(directory: Path) -> dict[str, CaseMessage]:
    """Read and check every `<message>.schema.json` in `directory` against SENDERS."""
    schemas: dict[str, dict] = {}
    for path in sorted(directory.glob("*" + SCHEMA_SUFFIX)):
        name = path.name[: -len(SCHEMA_SUFFIX)]
        schema = json.loads(path.read_text(encoding="utf-8"))
        found = check_schema(schema)
        if found:
            raise MessageSetupError(f"{path}: {'; '.join(found)}")
        schemas[name] = schema
    if set(schemas) != set(SENDERS):
        missing, unknown = sorted(set(SENDERS) - set(schemas)), sorted(set(schemas) - set(SENDERS))
        raise MessageSetupError(f"{directory}: message schemas without senders {unknown}, "
                                f"senders without a schema {missing}")
    return {name: CaseMessage(name, schemas[name], SENDERS[name]) for name in SENDERS}


def registry(forms_dir: Path | None = None) -> dict[str, CaseMessage]:
    """The messages, read once per folder."""
    directory = messages_dir(forms_dir)
    with _lock:
        if directory not in _loaded:
            _loaded[directory] = load(directory)
        return _loaded[directory]


def sent_by_people(forms_dir: Path | None = None) -> tuple[str, ...]:
    """The messages a person may be offered (the others come from tejun itself)."""
    return tuple(name for name, message in registry(forms_dir).items() if not message.system_only)


def unknown(name: str) -> ValidationFailed:
    return ValidationFailed([{"pointer": "/name", "message": f"there is no case message '{name}'",
                              "keyword": "enum"}])
