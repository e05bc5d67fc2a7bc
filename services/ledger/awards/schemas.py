"""HTTP schemas of the award cycles (names start with ``Award`` so that the merged OpenAPI
document has no clash with other parts)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.api import MessageOut, PageArgs, PageOut
from services.common.errors import Message
from services.common.fields import Date, Hours, Text, check_period
from services.common.states import CycleStatus
from services.ledger.awards.tally import DECISIONS

_count = {"strict": True}
BETWEEN = "须在 {min} 到 {max} 之间"  # marshmallow fills in the bounds


def _text(minimum: int, maximum: int, message: str):
    def check(value: str) -> None:
        if len(value.strip()) < minimum:
            raise ValidationError(message)
        if len(value) > maximum:
            raise ValidationError(Message("最多 {maximum} 个字", {"maximum": maximum}))

    return check


class AwardCriteria(Schema):
    """What a volunteer must have done in the period to be a candidate."""

    min_points = fields.Integer(
        load_default=200, validate=validate.Range(min=0, max=1_000_000, error=BETWEEN), **_count
    )
    min_activities = fields.Integer(
        load_default=6, validate=validate.Range(min=0, max=10_000, error=BETWEEN), **_count
    )
    min_dimensions = fields.Integer(
        load_default=3,
        validate=validate.Range(min=0, max=5, error="维度数须在 0 到 5 之间"),
        **_count,
    )
    max_no_shows = fields.Integer(
        load_default=2, validate=validate.Range(min=0, max=1000, error=BETWEEN), **_count
    )


class AwardCycleIn(Schema):
    """A new cycle (DESIGN §7 defaults where a number is left out)."""

    title = Text(required=True, validate=_text(2, 100, "请填写评选名称"))
    unit_id = Text(required=True, validate=validate.Length(min=1, max=64))
    period_start = Date(required=True)
    period_end = Date(required=True)
    criteria = fields.Nested(AwardCriteria, load_default=lambda: AwardCriteria().load({}))
    quota = fields.Integer(
        required=True, validate=validate.Range(min=1, max=1000, error=BETWEEN), **_count
    )
    committee = fields.List(
        Text(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50, error="评审委员须有 1 到 50 位"),
    )
    committee_statement = fields.String(
        load_default=None,
        validate=validate.Length(max=100_000),
        metadata={
            "description": "web's signed word on the members' roles (POST /api/v1/auth/"
            "staff-statement); needed for every member but the caller"
        },
    )
    quorum = fields.Integer(
        required=True, validate=validate.Range(min=1, max=50, error=BETWEEN), **_count
    )
    majority = fields.Float(
        load_default=0.667,
        validate=validate.Range(min=0.5, max=1, error="通过比例须在 0.5 到 1 之间"),
        metadata={"description": "approving share of votes cast, e.g. 0.667 for two thirds"},
    )
    notice_days = fields.Integer(
        load_default=5, validate=validate.Range(min=1, max=60, error=BETWEEN), **_count
    )

    @validates_schema
    def _consistent(self, data, **_kwargs):
        start, end = data.get("period_start"), data.get("period_end")
        check_period(start, end, "period_end", "评选期最长十年", "period_end")
        committee = data.get("committee") or []
        if len(set(committee)) != len(committee):
            raise ValidationError("评审委员不能重复", "committee")
        if data.get("quorum") and committee and data["quorum"] > len(committee):
            raise ValidationError("法定人数不能多于评审委员人数", "quorum")

    @post_load
    def _permille(self, data, **_kwargs):
        share = Decimal(str(data.pop("majority")))
        data["majority_permille"] = int((share * 1000).quantize(Decimal(1), ROUND_HALF_UP))
        return data


class AwardMember(Schema):
    """A committee member."""

    account_id = Text()
    name = Text()


class AwardTieBreak(Schema):
    """The committee's decision on candidates tied at the quota line."""

    group = fields.List(Text())
    chosen = fields.List(Text())
    reason = Text(
        multiline=True,
    )
    by = Text()
    by_name = Text()
    at = Text()


class AwardCycleOut(Schema):
    """A cycle and where it stands."""

    id = Text()
    title = Text()
    unit_id = Text()
    unit_name = Text()
    period_start = Date()
    period_end = Date()
    criteria = fields.Nested(AwardCriteria)
    quota = fields.Integer()
    committee = fields.List(Text())
    committee_members = fields.List(fields.Nested(AwardMember))
    quorum = fields.Integer()
    majority = fields.Float()
    notice_days = fields.Integer()
    status = Text(
        metadata={"description": "draft | open | notice | published | cancelled | revoked"}
    )
    status_label = Text()
    created_at = fields.DateTime()
    opened_at = fields.DateTime(allow_none=True)
    notice_started_on = Date(allow_none=True)
    notice_ends_on = Date(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_reason = Text(allow_none=True)
    tie_break = fields.Nested(AwardTieBreak, allow_none=True)
    winners = fields.List(
        Text(), metadata={"description": "candidate ids winning now (or proposed)"}
    )
    tie = fields.List(Text(), metadata={"description": "candidates tied at the line"})
    tie_places = fields.Integer()
    next_in_rank = Text(allow_none=True)
    can_manage = fields.Boolean()
    is_member = fields.Boolean()


class AwardCyclePage(PageOut):
    """One page of cycles."""

    items = fields.List(fields.Nested(AwardCycleOut))


class AwardCycleArgs(PageArgs):
    """Which cycles to list."""

    status = Text(
        load_default=None,
        validate=validate.OneOf([s.value for s in CycleStatus]),
    )


class AwardMonthPoints(Schema):
    """Points earned in one month of the period."""

    month = Text()
    points = fields.Integer()


class AwardAttended(Schema):
    """An activity the candidate attended, with confirmed hours."""

    activity_id = Text()
    title = Text()
    date = Text()
    hours = Hours()
    dimensions = fields.List(Text())


class AwardMissed(Schema):
    """A no-show after a confirmed sign-up."""

    activity_id = Text()
    title = Text()
    date = Text()


class AwardEvidence(Schema):
    """Why a volunteer is a candidate."""

    points_by_month = fields.List(fields.Nested(AwardMonthPoints))
    activities = fields.List(fields.Nested(AwardAttended))
    hours = Hours()
    dimensions = fields.List(Text())
    no_shows = fields.List(fields.Nested(AwardMissed))


class AwardTally(Schema):
    """The votes on a candidate and what they amount to."""

    approve = fields.Integer()
    reject = fields.Integer()
    abstain = fields.Integer()
    recused = fields.Integer()
    eligible = fields.Integer()
    quorum_needed = fields.Integer()
    outcome = Text(metadata={"description": "approved | rejected | pending"})


class AwardVoteOut(Schema):
    """A member's vote."""

    member_id = Text()
    member_name = Text()
    decision = Text(metadata={"description": "approve | reject | abstain | recused"})
    comment = Text(multiline=True)
    comment_message = fields.Nested(MessageOut, allow_none=True)  # an automatic recusal's
    automatic = fields.Boolean()
    cast_at = fields.DateTime()
    changed_at = fields.DateTime(allow_none=True)


class AwardCandidateOut(Schema):
    """A ranked candidate with evidence, story and tally."""

    candidate_id = Text()
    volunteer_id = Text()
    name = Text()
    unit_id = Text()
    unit_name = Text()
    points = fields.Integer()
    rank = fields.Integer()
    hours = Hours()
    activities = fields.Integer()
    dimensions = fields.Integer()
    no_shows = fields.Integer()
    evidence = fields.Nested(AwardEvidence)
    story = Text(multiline=True, allow_none=True)
    nominated_by_name = Text(allow_none=True)
    status = Text(metadata={"description": "listed | proposed | removed | winner | revoked"})
    would_win = fields.Boolean(allow_none=True)
    tied = fields.Boolean()
    tally = fields.Nested(AwardTally)
    votes = fields.List(fields.Nested(AwardVoteOut))
    my_vote = Text(allow_none=True)
    certificate_code = Text(allow_none=True)


class AwardCandidateList(Schema):
    """Every candidate of a cycle, best first."""

    items = fields.List(fields.Nested(AwardCandidateOut))
    total = fields.Integer()


class AwardStoryIn(Schema):
    """An organizer's nomination of an eligible volunteer, with their story (事迹)."""

    volunteer_id = Text(required=True, validate=validate.Length(min=1, max=64))
    story = Text(multiline=True, required=True, validate=_text(10, 2000, "事迹请至少写 10 个字"))


def _decision():
    return Text(
        required=True,
        validate=validate.OneOf(
            [d.value for d in DECISIONS], error="投票须是 approve、reject 或 abstain"
        ),
    )


class AwardVoteIn(Schema):
    """A vote on a candidate."""

    candidate_id = Text(required=True, validate=validate.Length(min=1, max=36))
    decision = _decision()
    comment = Text(multiline=True, load_default="", validate=validate.Length(max=500))


class AwardVoteChange(Schema):
    """A changed vote."""

    decision = _decision()
    comment = Text(multiline=True, load_default="", validate=validate.Length(max=500))


class AwardRecusalIn(Schema):
    """A member stepping aside from a candidate."""

    candidate_id = Text(required=True, validate=validate.Length(min=1, max=36))
    reason = Text(multiline=True, required=True, validate=_text(2, 500, "请写明回避原因"))


class AwardTieIn(Schema):
    """Which tied candidates take the places left."""

    candidate_ids = fields.List(
        Text(validate=validate.Length(min=1, max=36)),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )
    reason = Text(multiline=True, required=True, validate=_text(2, 500, "请写明决定的理由"))


class AwardObjectionIn(Schema):
    """An objection (异议) to a proposed winner."""

    candidate_id = Text(required=True, validate=validate.Length(min=1, max=36))
    reason = Text(
        multiline=True, required=True, validate=_text(5, 1000, "请写明异议的理由（至少 5 个字）")
    )


class AwardObjectionOut(Schema):
    """An objection and the committee's decision."""

    id = Text()
    candidate_id = Text()
    candidate_name = Text()
    reason = Text(
        multiline=True,
    )
    lodged_by = Text(allow_none=True, metadata={"description": "for the committee only"})
    lodged_at = fields.DateTime()
    status = Text(metadata={"description": "pending | upheld | dismissed"})
    decided_by_name = Text(allow_none=True)
    decision_reason = Text(allow_none=True)
    decision_message = fields.Nested(MessageOut, allow_none=True)  # decided with another
    decided_at = fields.DateTime(allow_none=True)


class AwardObjectionList(Schema):
    """The objections of a cycle."""

    items = fields.List(fields.Nested(AwardObjectionOut))


class AwardDecisionIn(Schema):
    """The committee's decision on an objection."""

    decision = Text(
        required=True,
        validate=validate.OneOf(
            ["uphold", "dismiss"], error="请选择 uphold（成立）或 dismiss（不成立）"
        ),
    )
    reason = Text(multiline=True, required=True, validate=_text(2, 500, "请写明处理理由"))


class AwardProposalIn(Schema):
    """The next candidate in rank, proposed after an upheld objection."""

    candidate_id = Text(required=True, validate=validate.Length(min=1, max=36))


class AwardReasonIn(Schema):
    """A reason for cancelling a cycle."""

    reason = Text(multiline=True, required=True, validate=_text(2, 500, "请写明原因"))


class AwardRevokeIn(Schema):
    """Revoking one winner's award (``candidate_id``) or every award of the cycle."""

    candidate_id = Text(load_default=None, validate=validate.Length(min=1, max=36))
    reason = Text(multiline=True, required=True, validate=_text(2, 500, "请写明撤销原因"))


class AwardAuditOut(Schema):
    """One recorded act."""

    at = fields.DateTime()
    actor_id = Text(allow_none=True)
    anonymous_as = Text(allow_none=True, metadata={"description": "committee_member | resident"})
    action = Text()
    detail = fields.Dict()


class AwardAuditList(Schema):
    """The audit trail of a cycle."""

    items = fields.List(fields.Nested(AwardAuditOut))


class AwardNoticeItem(Schema):
    """A proposed winner as the public sees them: never phone or ethnicity."""

    candidate_id = Text()
    name = Text()
    unit_name = Text()
    story = Text(multiline=True, allow_none=True)
    points = fields.Integer()
    activities = fields.Integer()
    hours = Hours()


class AwardNoticeOut(Schema):
    """The public notice (公示) of a cycle."""

    cycle_id = Text()
    title = Text()
    unit_name = Text()
    status = Text()
    notice_started_on = Date(allow_none=True)
    notice_ends_on = Date(allow_none=True)
    open_for_objections = fields.Boolean()
    items = fields.List(fields.Nested(AwardNoticeItem))


class AwardNoticeSummary(Schema):
    """A cycle on notice now."""

    cycle_id = Text()
    title = Text()
    unit_name = Text()
    notice_ends_on = Date()


class AwardNoticeList(Schema):
    """Cycles on notice now."""

    items = fields.List(fields.Nested(AwardNoticeSummary))


class HonorRollArgs(Schema):
    """Which honor roll."""

    unit_id = Text(required=True, validate=validate.Length(min=1, max=64))
    year = fields.Integer(
        load_default=None, validate=validate.Range(min=2000, max=2100, error=BETWEEN)
    )


class HonorWinner(Schema):
    """A winner on the honor roll."""

    name = Text()
    unit_name = Text()
    story = Text(multiline=True, allow_none=True)
    points = fields.Integer()


class HonorCycle(Schema):
    """The winners of one cycle."""

    cycle_id = Text()
    title = Text()
    unit_name = Text()
    published_at = fields.DateTime()
    winners = fields.List(fields.Nested(HonorWinner))


class HonorRollOut(Schema):
    """The honor roll (光荣榜) of a unit for a year."""

    unit_id = Text()
    unit_name = Text()
    year = fields.Integer()
    cycles = fields.List(fields.Nested(HonorCycle))


class AwardCertificateOut(Schema):
    """A certificate as anyone may check it."""

    code = Text()
    valid = fields.Boolean()
    status = Text(metadata={"description": "valid | revoked"})
    name = Text()
    unit_name = Text()
    title = Text()
    cycle_id = Text()
    awarding_unit = Text()
    issued_on = Date()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = Text(allow_none=True)


class AwardCertificateList(Schema):
    """A volunteer's own certificates."""

    items = fields.List(fields.Nested(AwardCertificateOut))
