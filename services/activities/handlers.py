"""What services/activities does with each event it consumes: how many places sign-ups hold."""

from __future__ import annotations

from services.activities import operations
from services.common import access


def _holding(holds_place: bool | None):
    def handler(session, _event, payload: dict) -> None:
        operations.record_signup(session, payload, holds_place)

    return handler


HANDLERS = {
    **access.HANDLERS,
    "signup.confirmed": _holding(True),
    "signup.promoted": _holding(True),
    "signup.waitlisted": _holding(False),
    "signup.cancelled": _holding(None),
}
