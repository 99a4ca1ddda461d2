"""What every template may use: dates in JST (absolute and relative), labels, the unread count."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Flask, g
from flask_babel import format_timedelta
from flask_login import current_user
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from .. import clock
from ..clock import JST
from ..wording import labels
from ..wording.render import absolute, duration_text, person_name


def relative(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(value - clock.now(), add_direction=True, threshold=1.0)


def time_tag(value: datetime | None, kind: str = "absolute") -> Markup:
    """A <time> element: `absolute` text, or `relative` text that app.js keeps current (full date as title)."""
    if value is None:
        return Markup("")
    iso = value.astimezone(JST).isoformat(timespec="seconds")
    if kind == "relative":
        return Markup('<time datetime="{}" data-relative title="{}">{}</time>').format(
            iso, absolute(value), relative(value)
        )
    return Markup('<time datetime="{}">{}</time>').format(iso, absolute(value))


def due_tag(value: datetime | None) -> Markup:
    """A due date, relative and absolute: "in 3 days (2026-04-04 23:59)", marked when overdue."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    overdue = value < clock.now()
    css = "due overdue" if overdue else "due"
    return Markup('<span class="{}">{} <span class="abs">({})</span></span>').format(
        css, time_tag(value, "relative"), absolute(value)
    )


def unread_count() -> int:
    if not getattr(current_user, "is_authenticated", False):
        return 0
    if "tejun_unread" not in g:
        from ..notifications import unread_count as count
        from .blueprint import services

        g.tejun_unread = count(services(), current_user.user_id)
    return g.tejun_unread


def asset_version(name: str) -> str:
    """?v=<hash> for the vendor bundles (from their manifest), so browsers never keep a stale one."""
    from .assets import version_of

    return version_of(name)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(
        time_tag=time_tag,
        due_tag=due_tag,
        absolute=absolute,
        unread_count=unread_count,
        lang=labels.lang,
        local=labels.local,
        asset_version=asset_version,
        now=lambda: datetime.now(UTC),
        sso_enabled=lambda: "sso.start" in app.view_functions,
        person_name=person_name,  # a username as the person's display name
        duration=lambda value: duration_text(value) or value,  # P12M as 12か月 / 12 months
    )
    app.jinja_env.filters.update(
        role=lambda code: labels.pick(code, labels.ROLES),
        stage=lambda code: labels.pick(code, labels.STAGES),
        status=lambda code: labels.pick(code, labels.STATUSES),
        outcome=lambda code: labels.pick(code, labels.OUTCOMES),
        priority=lambda code: labels.pick(code, labels.PRIORITIES),
        variant=lambda code: labels.pick(code, labels.VARIANTS),
        risk=lambda code: labels.pick(code, labels.RISK_LEVELS),
        process=lambda code: labels.pick(code, labels.PROCESSES),
        action=lambda code: labels.pick(code, labels.ACTIONS),
        message_label=lambda code: labels.pick(code, labels.MESSAGES),
        member_role=lambda code: labels.pick(code, labels.MEMBER_ROLES),
        task_title=lambda item: labels.local(item.title, item.title_en),
        org_name=lambda org: labels.local(org.name, org.name_en) if org is not None else "",
        filesize=_filesize,
        # like `tojson` (HTML-safe), but keeping key order: a form's fields appear in its schema's order
        tojson_ordered=lambda value: htmlsafe_json_dumps(value, dumps=json.dumps),
    )
    app.jinja_env.add_extension("jinja2.ext.loopcontrols")
    app.jinja_env.policies["ext.i18n.trimmed"] = True


def _filesize(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
