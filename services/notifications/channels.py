"""Outside channels (SMS, WeChat subscription messages) as adapters, and the dispatcher that
sends what the inbox put in ``deliveries``: every attempt recorded, retries with a growing wait,
a failure after ``MAX_ATTEMPTS`` kept for administrators to see.

``SHILIU_NOTIFY_ADAPTER`` names the adapter: ``log`` (the default, development and offices
without a provider) sends nothing out; it writes what would be sent to the log, and the text stays
on the delivery, which administrators read on /admin/notifications. A city with a provider writes
a class with a ``channel`` name (``sms``, ``wechat``), ``needs_phone`` and
``send(recipient_id, phone, text)`` that raises when the provider refused, and names it
``module:Class``; it is made once, without arguments, when the worker starts.

Phone numbers never reach this service's tables or the topics: an adapter that needs one is given
it at delivery time, asked of web, which keeps the accounts and their mobile numbers
(``PhoneBook``: ``GET /api/v1/accounts/ID/contact`` with a one-minute system token).
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Protocol

import requests
import structlog
from sqlalchemy import or_, select, update

from events.envelope import utcnow
from events.settings import Settings
from services.common.auth import issue_token
from services.notifications.models import Delivery, DeliveryAttempt, Notification
from services.notifications.telling import message

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
FIRST_WAIT = timedelta(seconds=30)  # then 1, 2, 4 minutes
CLAIM = timedelta(minutes=2)  # a delivery being sent is not taken by another worker meanwhile


class Adapter(Protocol):
    """An outside channel."""

    channel: str
    needs_phone: bool

    def send(self, recipient_id: str, phone: str | None, text: str) -> None:
        """Send ``text``; raise when it could not be sent."""


class LogAdapter:
    """The development adapter: what would be sent goes to the log (and stays on the delivery)."""

    channel = "log"
    needs_phone = False

    def send(self, recipient_id: str, phone: str | None, text: str) -> None:
        """Write the message to the log."""
        log.info("notification.would_send", recipient_id=recipient_id, text=text)


def make_adapter(name: str) -> Adapter:
    """The adapter ``SHILIU_NOTIFY_ADAPTER`` names: ``log`` or ``module:Class``."""
    if name in ("", "log"):
        return LogAdapter()
    module, _, cls = name.partition(":")
    if not cls:
        raise RuntimeError(f"SHILIU_NOTIFY_ADAPTER must be `log` or `module:Class`: {name!r}")
    return getattr(importlib.import_module(module), cls)()


class PhoneBook:
    """Asks web for an account's mobile number when an adapter needs it."""

    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.settings = settings
        self.http = session or requests.Session()

    def phone(self, account_id: str) -> str | None:
        """The account's mobile number, or None when it has none."""
        token = issue_token(
            self.settings.secret_key,
            "notifications",
            name="notifications",
            system=True,
            lifetime=timedelta(minutes=1),
        )
        answer = self.http.get(
            f"{self.settings.web_url}/api/v1/accounts/{account_id}/contact",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json().get("phone")


def wait_after(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    return FIRST_WAIT * (2 ** (attempts - 1))


def deliver_due(session_factory, adapter: Adapter, phones=None, now: datetime | None = None) -> int:
    """Try every delivery that is due: claim it (so another worker leaves it), send it outside any
    transaction, record the attempt. Returns how many were sent."""
    now = now or utcnow()
    with session_factory() as session:
        due = session.scalars(
            select(Delivery.id)
            .where(
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(200)
        ).all()
    sent = 0
    for delivery_id in due:
        sent += _attempt(session_factory, adapter, phones, delivery_id, now)
    return sent


def _attempt(session_factory, adapter: Adapter, phones, delivery_id: str, now: datetime) -> int:
    with session_factory() as session, session.begin():
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.state == "pending",
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
            )
            .values(claimed_until=now + CLAIM, attempts=Delivery.attempts + 1)
        ).rowcount
        if not claimed:
            return 0
        delivery = session.get(Delivery, delivery_id)
        found = session.get(Notification, delivery.notification_id)
        text = str(message(session, found))
        recipient, attempt = delivery.recipient_id, delivery.attempts
    error = None
    try:
        phone = phones.phone(recipient) if adapter.needs_phone and phones else None
        if adapter.needs_phone and not phone:
            raise LookupError("这位收件人没有登记手机号")
        adapter.send(recipient, phone, text)
    except Exception as exc:  # noqa: BLE001 - any refusal of the provider is a failed attempt
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("notification.delivery_failed", delivery_id=delivery_id, error=error)
    with session_factory() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        delivery.channel, delivery.text, delivery.claimed_until = adapter.channel, text, None
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id, attempt=attempt, at=now, ok=error is None, error=error
            )
        )
        if error is None:
            delivery.state, delivery.sent_at, delivery.last_error = "sent", now, None
            return 1
        delivery.last_error = error
        if attempt >= MAX_ATTEMPTS:
            delivery.state = "failed"
        else:
            delivery.next_attempt_at = now + wait_after(attempt)
        return 0
