"""The public's award pages: the notice (公示) where residents object, the honor roll (光荣榜)
and certificate verification.
"""

from __future__ import annotations

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required

from services.common.app import db
from services.common.errors import DomainError
from web import operations, services_client
from web.i18n import _, explain, render
from web.pages_awards._common import _ledger, _messages, _raw, _safe, _this_year, bp, punctuation

# ---- the public notice (公示) --------------------------------------------------------------


@bp.get("/notices")
def notices():
    """Cycles on public notice now."""
    listing = _ledger("GET", "/award-notices")
    return render_template("awards_notices.html", notices=listing["items"])


def _notice_page(cycle_id: str, problems: dict | None = None, status: int = 200):
    notice = _ledger("GET", f"/award-cycles/{cycle_id}/notice")
    return render_template(
        "awards_notice.html",
        notice=notice,
        problems=problems or {},
        posted=request.form if problems else {},
    ), status


@bp.get("/notices/<cycle_id>")
def notice(cycle_id):
    """A cycle's public notice: proposed winners with unit and story, and the end date."""
    return _notice_page(cycle_id)


@bp.post("/notices/<cycle_id>/objections")
@login_required
def object_to(cycle_id):
    """A signed-in resident objects to a proposed winner, with the reason."""
    candidate_id = request.form.get("candidate_id", "")
    key = f"objection-{candidate_id}"
    if not candidate_id:
        messages, status = [_("请选择要提出异议的人选")], 422
    else:
        try:
            _ledger(
                "POST",
                f"/award-cycles/{cycle_id}/objections",
                json={"candidate_id": candidate_id, "reason": request.form.get("reason", "")},
            )
            flash(_("异议已提交，评审委员会将核实处理"), "success")
            return redirect(url_for("awards.notice", cycle_id=cycle_id))
        except DomainError as error:
            if error.status >= 500:
                raise
            messages, status = _messages(error), error.status
    flash(punctuation()["clause"].join(messages), "error")
    return _notice_page(cycle_id, {key: messages}, status)


# ---- the honor roll and certificates ------------------------------------------------------


@bp.get("/honors")
def honors():
    """The honor roll (光荣榜) of a unit and the units below it, for a year."""
    units = operations.units(db())
    this_year = _this_year()
    unit_id = request.args.get("unit_id") or (units[0].unit_id if units else "")
    year = request.args.get("year") or str(this_year)
    errors: dict[str, list[str]] = {}
    roll = {"cycles": [], "unit_name": "", "year": year}
    try:
        if not year.isdigit():
            raise DomainError(
                "年度须为数字，例如 2026", errors={"year": ["年度须为数字，例如 2026"]}, status=422
            )
        roll = _ledger("GET", "/honor-roll", params={"unit_id": unit_id, "year": year})
    except DomainError as error:
        if error.status >= 500 or error.status == 401:
            raise
        found = error.errors or {}
        found = found.get("query", found) if isinstance(found, dict) else {}
        errors = {k: [render(m) for m in v] for k, v in found.items()}
        if not errors:
            errors = {"unit_id": [explain(error)]}
    return render_template(
        "awards_honors.html",
        summary=_year_summary(unit_id),
        units=units,
        unit_id=unit_id,
        year=year,
        years=list(range(this_year, this_year - 10, -1)),
        roll=roll,
        errors=errors,
    ), (422 if errors else 200)


def _year_summary(unit_id: str) -> dict | None:
    """This year's 场次, 人次 and hours of the unit shown (statistics' public summary), or None
    when the statistics service does not answer or does not know the unit: the roll stays."""
    try:
        return services_client.call(
            "statistics",
            "GET",
            "/api/v1/stats/summary",
            params={"unit_id": unit_id} if unit_id else None,
        )
    except DomainError:
        return None


@bp.get("/honors/verify")
def verify_form():
    """Type a certificate's code to check it."""
    if "code" in request.args:
        code = request.args["code"].strip()
        if code:
            return redirect(url_for("awards.verify", code=code))
        return render_template(
            "awards_verify.html", code="", found=None, asked=False, error=_("请输入证书编号")
        ), 422
    return render_template("awards_verify.html", code="", found=None, asked=False, error=None)


@bp.get("/honors/verify/<code>")
def verify(code):
    """Anyone checks a certificate by its code: valid, revoked (with the reason) or unknown."""
    try:
        found = _ledger("GET", f"/certificates/{code}")
    except DomainError as error:
        if error.status != 404:
            raise
        found = None
    return render_template("awards_verify.html", code=code, found=found, asked=True, error=None), (
        200 if found else 404
    )


@bp.get("/honors/certificates/<code>.pdf")
def certificate(code):
    """The certificate as a PDF (the ledger's own), for a valid certificate."""
    status, data, content_type = _raw(f"/api/v1/certificates/{code}/pdf")
    if status == 409:
        flash(_("这份证书已被撤销，不能再下载"), "error")
        return redirect(url_for("awards.verify", code=code))
    if status != 200:
        return render_template(
            "awards_verify.html", code=code, found=None, asked=True, error=None
        ), 404
    return Response(
        data,
        content_type=content_type or "application/pdf",
        headers={"Content-Disposition": f'inline; filename="{_safe(code)}.pdf"'},
    )
