"""HTTP schemas of what an objector reads of their own objections (beside ``schemas.py``, which
holds the rest of the award cycles' schemas; names start with ``Award`` as there)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.api import MessageOut
from services.common.fields import Text


class AwardMyObjection(Schema):
    """One of the caller's own objections and the committee's decision on it."""

    id = Text()
    cycle_id = Text()
    cycle_title = Text()
    cycle_status = Text(
        metadata={"description": "draft | open | notice | published | cancelled | revoked"}
    )
    unit_name = Text()
    candidate_id = Text()
    candidate_name = Text()
    reason = Text(multiline=True)
    lodged_at = fields.DateTime()
    status = Text(metadata={"description": "pending | upheld | dismissed"})
    decision_reason = Text(allow_none=True)
    decision_message = fields.Nested(MessageOut, allow_none=True)  # decided with another
    decided_at = fields.DateTime(allow_none=True)


class AwardMyObjectionList(Schema):
    """The caller's own objections, newest first."""

    items = fields.List(fields.Nested(AwardMyObjection))
