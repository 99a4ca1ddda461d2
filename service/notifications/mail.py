"""E-mail for notifications: the rows not yet e-mailed go out through SMTP (smtplib), when SMTP is set.

Run by the worker after each round. A row is marked `emailed_at` once the SMTP server accepted it, in the
same transaction that read it; rows are locked with SKIP LOCKED, so several workers never send one twice.
Nothing is sent when TEJUN_SMTP_HOST is unset, for notifications already read in the app, to people
without an address, or for rows older than a week (mail switched on later does not flood anyone).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select

from .. import clock
from ..models import Notification, User
from ..services import Services
from ..unit_of_work import unit_of_work
from . import texts

log = logging.getLogger("tejun.mail")
MAX_AGE = timedelta(days=7)


def _message(svc: Services, notification: Notification, user: User) -> EmailMessage:
    settings = svc.settings
    message = EmailMessage()
    message["Subject"] = f"[tejun] {notification.title}"
    message["From"] = settings.mail_from
    message["To"] = formataddr((user.display_name or user.username, user.email))
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "tejun")
    lines = [notification.body or notification.title, ""]
    if notification.url:
        url = settings.base_url.rstrip("/") + notification.url
        lines.append(texts.text(user.locale, texts.MAIL_FOOTER, url=url))
    lines += ["", "-- ", texts.text(user.locale, texts.MAIL_SIGNATURE)]
    message.set_content("\n".join(lines))
    return message


def _connect(svc: Services) -> smtplib.SMTP:
    settings = svc.settings
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        smtp.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password or "")
    return smtp


def send_pending(svc: Services, limit: int = 100) -> int:
    """E-mail up to `limit` notifications not yet e-mailed; returns how many the SMTP server accepted."""
    if not svc.settings.smtp_host:
        return 0
    sent = 0
    now = clock.now()
    with unit_of_work(svc) as session:
        rows = session.execute(
            select(Notification, User)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.emailed_at.is_(None),
                Notification.read_at.is_(None),
                Notification.created_at >= now - MAX_AGE,
                User.active.is_(True),
                User.email != "",
            )
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Notification)
        ).all()
        if not rows:
            return 0
        try:
            smtp = _connect(svc)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("cannot reach the SMTP server %s: %s; will try again", svc.settings.smtp_host, exc)
            return 0
        try:
            for notification, user in rows:
                try:
                    smtp.send_message(_message(svc, notification, user))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    # this one message was refused: say so and keep it in the app only
                    log.warning("mail for notification %s refused: %s", notification.id, exc)
                    notification.emailed_at = clock.now()
                    continue
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning("SMTP connection lost after %d message(s): %s; will try again", sent, exc)
                    break
                notification.emailed_at = clock.now()
                sent += 1
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return sent
