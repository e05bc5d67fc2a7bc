"""Text messages to residents (the codes of forgotten passwords), through a replaceable adapter.

``SHILIU_SMS_ADAPTER`` names it: ``log`` (the default) sends nothing; it writes each message to
the log and keeps it in ``sms_outbox``, where administrators of the resident's units read it on
/admin/sms and pass the code on by phone (development, and offices without an SMS contract). A
city with an SMS provider writes a class with ``send(phone, text)`` and names it as
``module:Class``; it is made once, without arguments, when web starts.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.envelope import utcnow
from web.models import Account, SmsMessage, UnitView, mask_phone

log = structlog.get_logger(__name__)


class SmsSender(Protocol):
    """Sends one text message to a mobile number (raises when it could not)."""

    def send(self, phone: str, text: str) -> None:
        """Send ``text`` to ``phone``."""


class LogSender:
    """The development adapter: the message goes to the log and to ``sms_outbox``, not out."""

    def __init__(self, session_factory: sessionmaker | None = None):
        self.session_factory = session_factory

    def send(self, phone: str, text: str) -> None:
        """Log the message and keep it for the administrators of the resident's units."""
        log.info("sms.kept", phone=mask_phone(phone), text=text)
        if self.session_factory is None:
            return
        with self.session_factory() as session, session.begin():
            keep(session, phone, text)


def keep(session: Session, phone: str, text: str) -> SmsMessage:
    """Keep a message in ``sms_outbox``, filed under the home unit of the phone's volunteer."""
    account = session.scalar(select(Account).where(Account.phone == phone))
    home = session.get(UnitView, account.home_unit_id) if account and account.home_unit_id else None
    message = SmsMessage(
        at=utcnow(),
        phone=phone,
        text=text,
        account_id=account.id if account else None,
        unit_path=home.path if home else None,
    )
    session.add(message)
    return message


def sender(name: str, session_factory: sessionmaker | None = None) -> SmsSender:
    """The adapter ``SHILIU_SMS_ADAPTER`` names: ``log``, or a provider's ``module:Class``."""
    if name == "log":
        return LogSender(session_factory)
    module_name, _, class_name = name.partition(":")
    try:
        if not module_name or not class_name:
            raise ImportError(name)
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"SHILIU_SMS_ADAPTER={name!r}: give `log` or `module:Class` of a class with "
            "send(phone, text)"
        ) from exc
    return found()
