"""HTTP handlers of services/notifications: a person's inbox and preferences, administrators'
view of outside deliveries."""

from __future__ import annotations

from services.common.api import Blueprint, roles
from services.common.app import db, transaction
from services.common.auth import require_principal
from services.notifications import operations
from services.notifications.schemas import (
    AnswerIn,
    DeliveryArgs,
    DeliveryPage,
    InboxArgs,
    InboxOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    UnreadOut,
)

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="消息通知"
)


@blp.get("")
@blp.arguments(InboxArgs, location="query")
@blp.response(200, InboxOut)
def my_inbox(args):
    """The caller's messages, newest first, and how many are unread."""
    who = require_principal()
    return operations.inbox(db(), who.account_id, args["page"], args["per_page"], args["unread"])


@blp.get("/unread")
@blp.response(200, UnreadOut)
def my_unread():
    """How many of the caller's messages are unread (the badge on every page)."""
    return {"unread": operations.unread(db(), require_principal().account_id)}


@blp.post("/<notification_id>/read")
@blp.response(200, NotificationOut)
def mark_read(notification_id):
    """Mark one of the caller's messages read."""
    who = require_principal()
    with transaction() as session:
        return operations.mark_read(session, who.account_id, notification_id)


@blp.post("/read-all")
@blp.response(200, UnreadOut)
def read_all():
    """Mark every message of the caller read."""
    who = require_principal()
    with transaction() as session:
        return {"unread": operations.read_all(session, who.account_id)}


@blp.post("/<notification_id>/answer")
@blp.arguments(AnswerIn)
@blp.response(200, NotificationOut)
def answer_reminder(body, notification_id):
    """Answer a reminder: ``coming`` or ``not_coming`` (cancel the sign-up through the volunteers
    service first; web does both)."""
    who = require_principal()
    with transaction() as session:
        return operations.answer(session, who.account_id, notification_id, body["answer"])


@blp.get("/preferences")
@blp.response(200, PreferencesOut)
def my_preferences():
    """The caller's choices and every kind of message."""
    return operations.preferences(db(), require_principal().account_id)


@blp.put("/preferences")
@blp.arguments(PreferencesIn)
@blp.response(200, PreferencesOut)
def set_my_preferences(body):
    """Turn kinds off (not those that change where one must be), keep or drop quiet hours, use
    outside channels or not."""
    who = require_principal()
    with transaction() as session:
        return operations.set_preferences(session, who.account_id, body)


@blp.get("/deliveries")
@roles("admin", detail="只有管理员可以查看消息发送记录", code="admin-only")
@blp.arguments(DeliveryArgs, location="query")
@blp.response(200, DeliveryPage)
def list_deliveries(args):
    """Messages on outside channels to people of the caller's units: state, attempts, errors."""
    who = require_principal()
    return operations.deliveries(db(), who, args["state"], args["page"], args["per_page"])
