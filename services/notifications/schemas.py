"""Request and response schemas of services/notifications."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.api import MessageOut, PageArgs, PageOut
from services.notifications.kinds import ANSWERS, KINDS


class InboxArgs(PageArgs):
    """Which messages: a page, only unread ones if asked."""

    unread = fields.Boolean(load_default=False)


class NotificationOut(Schema):
    """One message of the inbox: its words (Chinese ``text``, and ``message`` for other
    languages), where to act, and whether it was read or answered."""

    id = fields.String()
    kind = fields.String(metadata={"example": "signup_promoted"})
    text = fields.String()
    message = fields.Nested(MessageOut)
    link = fields.String(metadata={"example": "/activities/a-1"})
    urgent = fields.Boolean()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    activity_id = fields.String(allow_none=True)
    signup_id = fields.String(allow_none=True)
    answerable = fields.Boolean(metadata={"description": "a reminder that can still be answered"})
    answer = fields.String(allow_none=True, metadata={"example": "coming"})


class InboxOut(PageOut):
    """A page of the caller's messages, newest first, and how many are unread."""

    items = fields.List(fields.Nested(NotificationOut))
    unread = fields.Integer()


class UnreadOut(Schema):
    """How many of the caller's messages are unread."""

    unread = fields.Integer()


class AnswerIn(Schema):
    """A reminder's answer: still coming, or can't come (web cancels the sign-up first)."""

    answer = fields.String(required=True, validate=validate.OneOf(ANSWERS))


class KindOut(Schema):
    """A kind of message a person may receive."""

    name = fields.String()
    label = fields.String()
    audience = fields.String()
    essential = fields.Boolean(metadata={"description": "cannot be turned off"})


class PreferencesIn(Schema):
    """Kinds turned off, quiet hours (22:00–07:00, city time) for non-urgent messages on outside
    channels, and whether outside channels (SMS, WeChat) are used at all."""

    muted_kinds = fields.List(
        fields.String(validate=validate.OneOf(sorted(KINDS))), load_default=list
    )
    quiet_at_night = fields.Boolean(load_default=True)
    outside_channels = fields.Boolean(load_default=True)


class PreferencesOut(PreferencesIn):
    """The caller's preferences and every kind they may choose from."""

    kinds = fields.List(fields.Nested(KindOut))


class AttemptOut(Schema):
    """One try of a delivery."""

    attempt = fields.Integer()
    at = fields.DateTime()
    ok = fields.Boolean()
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    """A message on an outside channel, with its attempts."""

    id = fields.String()
    recipient_id = fields.String()
    recipient_name = fields.String(allow_none=True)
    kind = fields.String()
    channel = fields.String(allow_none=True)
    state = fields.String(metadata={"example": "pending"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    tries = fields.List(fields.Nested(AttemptOut))


class DeliveryArgs(PageArgs):
    """Deliveries by state."""

    state = fields.String(load_default=None, validate=validate.OneOf(("pending", "sent", "failed")))


class DeliveryPage(PageOut):
    """A page of deliveries, newest first."""

    items = fields.List(fields.Nested(DeliveryOut))
