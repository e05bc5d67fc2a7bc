"""HTTP handlers of the award cycles: parse, check who is asking, call one operation, shape."""

from __future__ import annotations

from flask import current_app

from services.common.api import XLSX, Blueprint, file_answer, one_page, public, roles
from services.common.app import db, service_context, transaction
from services.common.auth import principal, require_principal, verify_staff_statement
from services.common.errors import Conflict
from services.common.idempotency import idempotent
from services.ledger.awards import documents
from services.ledger.awards import operations as ops
from services.ledger.awards.objection_schemas import AwardMyObjectionList
from services.ledger.awards.schemas import (
    AwardAuditList,
    AwardCandidateList,
    AwardCandidateOut,
    AwardCertificateList,
    AwardCertificateOut,
    AwardCycleArgs,
    AwardCycleIn,
    AwardCycleOut,
    AwardCyclePage,
    AwardDecisionIn,
    AwardNoticeList,
    AwardNoticeOut,
    AwardObjectionIn,
    AwardObjectionList,
    AwardObjectionOut,
    AwardProposalIn,
    AwardReasonIn,
    AwardRecusalIn,
    AwardRevokeIn,
    AwardStoryIn,
    AwardTieIn,
    AwardVoteChange,
    AwardVoteIn,
    AwardVoteOut,
    HonorRollArgs,
    HonorRollOut,
)

NOT_A_MEMBER = "只有本评选的评审委员可以投票"
cycles = Blueprint(
    "award_cycles", __name__, url_prefix="/api/v1/award-cycles", description="民族团结之星评选"
)
honors = Blueprint("honors", __name__, url_prefix="/api/v1", description="光荣榜与证书（公开）")


def _visible(cycle_id: str):
    """The session, the cycle and the caller, when the caller may see the cycle (404 if not)."""
    who = require_principal()
    session = db()
    found = ops.cycle(session, cycle_id)
    ops.require_view(session, who, found)
    return session, found, who


def _cycle_answer(session, found, who) -> dict:
    return ops.cycle_dict(session, found, who)


def _vote_answer(vote) -> dict:
    return {
        "member_id": vote.member_id,
        "member_name": vote.member_name,
        "decision": vote.decision,
        "comment": vote.comment,
        "automatic": vote.automatic,
        "cast_at": vote.cast_at,
        "changed_at": vote.changed_at,
    }


def _candidate_answer(session, found, candidate_id: str, who) -> dict:
    return next(
        item
        for item in ops.candidates_page(session, found, who)
        if item["candidate_id"] == candidate_id
    )


@cycles.get("")
@cycles.arguments(AwardCycleArgs, location="query")
@cycles.response(200, AwardCyclePage)
def list_cycles(args):
    """Cycles the caller sits on, or whose unit their staff roles cover."""
    who = require_principal()
    session = db()
    rows, total = ops.cycles_for(session, who, args["status"], args["page"], args["per_page"])
    return one_page([ops.cycle_dict(session, row, who) for row in rows], total, args)


@cycles.post("")
@roles("committee", "admin")
@idempotent
@cycles.arguments(AwardCycleIn)
@cycles.response(201, AwardCycleOut)
def create_cycle(body):
    """Start a cycle in draft: title, unit, period, criteria, quota, committee and its rules."""
    who = require_principal()
    statement = body.pop("committee_statement", None)
    vouched = (
        verify_staff_statement(current_app.config["SECRET_KEY"], statement) if statement else {}
    )
    with transaction() as session:
        found = ops.create_cycle(session, who, body, vouched)
        return _cycle_answer(session, found, who)


@cycles.get("/<cycle_id>")
@cycles.response(200, AwardCycleOut)
def get_cycle(cycle_id):
    """A cycle with its rules and where the selection stands (committee and staff in scope)."""
    session, found, who = _visible(cycle_id)
    return _cycle_answer(session, found, who)


def _act(cycle_id: str, operation, *args):
    who = require_principal()
    with transaction() as session:
        found = operation(session, who, cycle_id, *args)
        return _cycle_answer(session, found, who)


def _cycle_act(path: str, schema: type | None = None):
    """Offer a committee act on a whole cycle, run by ``_act``: for committee members and
    administrators, answering the cycle."""
    return cycles.act(f"/<cycle_id>{path}", AwardCycleOut, ("committee", "admin"), schema)


@_cycle_act("/open")
def open_cycle(cycle_id):
    """List the candidates from the ledger and open the vote."""
    return _act(cycle_id, ops.open_cycle)


@cycles.get("/<cycle_id>/candidates")
@cycles.response(200, AwardCandidateList)
def list_candidates(cycle_id):
    """The ranked candidates with evidence, stories, votes and the tally."""
    session, found, who = _visible(cycle_id)
    items = ops.candidates_page(session, found, who)
    return {"items": items, "total": len(items)}


@cycles.post("/<cycle_id>/nominations")
@cycles.arguments(AwardStoryIn)
@cycles.response(200, AwardCandidateOut)
def nominate(body, cycle_id):
    """An organizer of the candidate's unit nominates an eligible volunteer with their story."""
    who = require_principal()
    with transaction() as session:
        picked = ops.tell_story(session, who, cycle_id, body["volunteer_id"], body["story"])
        return _candidate_answer(session, ops.cycle(session, cycle_id), picked.id, who)


@cycles.post("/<cycle_id>/votes")
@roles("committee", "admin", detail=NOT_A_MEMBER, code="not-a-member")
@cycles.arguments(AwardVoteIn)
@cycles.response(201, AwardVoteOut)
def cast_vote(body, cycle_id):
    """A committee member's vote on a candidate: approve, reject or abstain, with a comment."""
    who = require_principal()
    with transaction() as session:
        return _vote_answer(ops.cast_vote(session, who, cycle_id, body))


@cycles.put("/<cycle_id>/votes/<candidate_id>")
@roles("committee", "admin", detail=NOT_A_MEMBER, code="not-a-member")
@cycles.arguments(AwardVoteChange)
@cycles.response(200, AwardVoteOut)
def change_vote(body, cycle_id, candidate_id):
    """Change one's vote while voting is open."""
    who = require_principal()
    with transaction() as session:
        return _vote_answer(ops.change_vote(session, who, cycle_id, candidate_id, body))


@cycles.post("/<cycle_id>/recusals")
@roles("committee", "admin", detail=NOT_A_MEMBER, code="not-a-member")
@cycles.arguments(AwardRecusalIn)
@cycles.response(201, AwardVoteOut)
def recuse(body, cycle_id):
    """A member steps aside from a candidate (a vote already cast is withdrawn)."""
    who = require_principal()
    with transaction() as session:
        vote = ops.recuse(session, who, cycle_id, body["candidate_id"], body["reason"])
        return _vote_answer(vote)


@_cycle_act("/tie-break", AwardTieIn)
def break_tie(body, cycle_id):
    """The committee decides which tied candidates take the places left at the quota line."""
    return _act(cycle_id, ops.break_tie, body["candidate_ids"], body["reason"])


@_cycle_act("/notice")
def start_notice(cycle_id):
    """Close the vote and put the winners on public notice (公示)."""
    return _act(cycle_id, ops.start_notice)


@cycles.get("/<cycle_id>/notice")
@public
@cycles.response(200, AwardNoticeOut)
def public_notice(cycle_id):
    """The public notice: proposed winners, their units and stories, the end date. Public."""
    principal()  # a bad token is still refused
    session = db()
    return ops.public_notice(session, ops.cycle(session, cycle_id))


@cycles.get("/<cycle_id>/objections")
@cycles.response(200, AwardObjectionList)
def list_objections(cycle_id):
    """The objections and the committee's decisions (committee and staff in scope)."""
    session, found, who = _visible(cycle_id)
    return {"items": ops.objections(session, found, who)}


@cycles.post("/<cycle_id>/objections")
@idempotent
@cycles.arguments(AwardObjectionIn)
@cycles.response(201, AwardObjectionOut)
def lodge_objection(body, cycle_id):
    """Any signed-in resident objects to a proposed winner during the notice, with a reason."""
    who = require_principal()
    with transaction() as session:
        objection = ops.lodge_objection(session, who, cycle_id, body)
        found = ops.cycle(session, cycle_id)
        return next(o for o in ops.objections(session, found, who) if o["id"] == objection.id)


@cycles.post("/<cycle_id>/objections/<objection_id>/decision")
@roles("committee", "admin")
@cycles.arguments(AwardDecisionIn)
@cycles.response(200, AwardObjectionOut)
def decide_objection(body, cycle_id, objection_id):
    """Uphold (the candidate is removed) or dismiss an objection, with a reason."""
    who = require_principal()
    with transaction() as session:
        objection = ops.decide_objection(session, who, cycle_id, objection_id, body)
        found = ops.cycle(session, cycle_id)
        return next(o for o in ops.objections(session, found, who) if o["id"] == objection.id)


@_cycle_act("/proposals", AwardProposalIn)
def propose(body, cycle_id):
    """Propose the next approved candidate in rank after an upheld objection."""
    return _act(cycle_id, ops.propose, body["candidate_id"])


@_cycle_act("/publish")
def publish(cycle_id):
    """After the notice: publish the honor roll and issue the certificates."""
    return _act(cycle_id, ops.publish)


@_cycle_act("/revoke", AwardRevokeIn)
def revoke(body, cycle_id):
    """Revoke one winner's award (``candidate_id``) or every award of the cycle, with a reason."""
    return _act(cycle_id, ops.revoke, body["candidate_id"], body["reason"])


@_cycle_act("/cancel", AwardReasonIn)
def cancel(body, cycle_id):
    """Stop a cycle before publication, with a reason."""
    return _act(cycle_id, ops.cancel, body["reason"])


@cycles.get("/<cycle_id>/audit")
@cycles.response(200, AwardAuditList)
def audit_trail(cycle_id):
    """Every act on the cycle: who, what, when."""
    session, found, who = _visible(cycle_id)
    return {"items": ops.audit_trail(session, found, who)}


@cycles.get("/<cycle_id>/export.xlsx")
@cycles.response(
    200,
    description="候选人、证据、投票与决定（Excel）",
    content_type=XLSX,
)
def export(cycle_id):
    """The committee's file: candidates, evidence, votes, objections and decisions as Excel."""
    session, found, who = _visible(cycle_id)
    data = documents.export_workbook(
        ops.cycle_dict(session, found, who),
        ops.candidates_page(session, found, who),
        ops.objections(session, found, who),
        ops.audit_trail(session, found, who),
    )
    return file_answer(data, XLSX, f"award-{found.id}.xlsx", inline=False)


@honors.get("/award-notices")
@public
@honors.response(200, AwardNoticeList)
def notices():
    """Cycles on public notice now. Public."""
    principal()
    return {"items": ops.notices(db())}


@honors.get("/honor-roll")
@public
@honors.arguments(HonorRollArgs, location="query")
@honors.response(200, HonorRollOut)
def honor_roll(args):
    """The honor roll (光荣榜) of a unit and the units below it, for a year. Public."""
    principal()
    return ops.honor_roll(db(), args["unit_id"], args["year"] or ops.today().year)


@honors.get("/certificates/<code>")
@public
@honors.response(200, AwardCertificateOut)
def verify_certificate(code):
    """Check a certificate by its code: valid, or revoked with the reason. Public."""
    principal()
    return ops.certificate_check(db(), code)


@honors.get("/certificates/<code>/pdf")
@public
@honors.response(200, description="荣誉证书（PDF）", content_type="application/pdf")
def certificate_pdf(code):
    """The certificate as a PDF with its verification code and QR. Public, like the roll."""
    principal()
    check = ops.certificate_check(db(), code)
    if not check["valid"]:
        raise Conflict(
            "这份证书已被撤销，不能再下载：{reason}",
            code="certificate-revoked",
            values={"reason": check["revoked_reason"]},
        )
    pdf = documents.render_certificate(check, service_context().settings.public_url)
    return file_answer(pdf, "application/pdf", f"{check['code']}.pdf", inline=True)


@honors.get("/award-certificates/mine")
@honors.response(200, AwardCertificateList)
def my_certificates():
    """The caller's own certificates."""
    who = require_principal()
    return {"items": ops.my_certificates(db(), who.account_id)}


@honors.get("/award-objections/mine")
@honors.response(200, AwardMyObjectionList)
def my_objections():
    """The caller's own objections with the committee's decision on each."""
    who = require_principal()
    return {"items": ops.my_objections(db(), who.account_id)}
