"""The worker's notification step: reminders before due dates, escalations after them, then e-mail."""

from __future__ import annotations

import logging

from ..errors import Conflict
from ..notifications import remind_and_escalate
from ..notifications.mail import send_pending
from ..services import Services
from ..unit_of_work import unit_of_work

log = logging.getLogger("tejun.worker")


def send_notifications(svc: Services) -> dict[str, int]:
    """One round: create due reminders and escalations (each once), then e-mail what is not yet e-mailed."""
    counts = {"reminders": 0, "escalations": 0, "emailed": 0}
    try:
        with unit_of_work(svc) as session:
            counts["reminders"], counts["escalations"] = remind_and_escalate(session, svc.settings.reminder_days)
    except Conflict:
        log.info("another worker created reminders at the same moment; next round")
    counts["emailed"] = send_pending(svc, limit=svc.settings.worker_batch * 2)
    if any(counts.values()):
        log.info("notifications: %(reminders)d reminder(s), %(escalations)d escalation(s), %(emailed)d e-mail(s)",
                 counts)
    return counts
