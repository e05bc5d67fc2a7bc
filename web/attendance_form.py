"""The organizer's attendance form (issue 20 item 6): the hours it offers on each row, and the
answer to a confirmation naming who was confirmed, changed, marked absent and left unconfirmed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from web.i18n import _


def scheduled_hours(activity: dict) -> float | None:
    """The activity's scheduled length in whole half hours (None beyond a day's 24 hours)."""
    starts, ends = (datetime.fromisoformat(activity[key]) for key in ("starts_at", "ends_at"))
    hours = (ends - starts).total_seconds() // 1800 / 2
    return hours if 0 < hours <= 24 else None


def suggest_hours(table: dict) -> None:
    """What the form offers on each row (issue 20 item 6): hours already confirmed; else check-in
    to check-out when that is at least half an hour; else, for a check-in without a check-out,
    the scheduled hours with that said as the reason. Never 0: the organizer types it."""
    scheduled = scheduled_hours(table["activity"])
    for row in table["items"]:
        row["suggested_hours"], row["suggested_reason"] = "", ""
        if row["status"] == "confirmed":
            row["suggested_hours"], row["suggested_reason"] = row["hours"], row["reason"] or ""
        elif row["status"] == "no_show":
            continue
        elif row["computed_hours"]:
            row["suggested_hours"] = row["computed_hours"]
        elif row["missing_checkout"] and scheduled:
            row["suggested_hours"] = scheduled
            row["suggested_reason"] = _("未签退，按活动时长计")


def unconfirmed_because(row: dict) -> str:
    """Why a row the organizer left without hours stays unconfirmed."""
    if row["checked_in_at"] is None:
        return _("未签到，可勾选缺席")
    if row["missing_checkout"]:
        return _("未签退，须填写时长和原因")
    return _("签到不足半小时，如确认 0 小时请填写 0")


def confirmation_report(rows: list[dict], entries: list[dict], no_shows: list[str]):
    """Who a confirmation confirmed, changed and marked absent (a list of sentences), and who it
    left unconfirmed and why (one sentence, or None), from the table as it stood before it."""
    by_id = {row["volunteer_id"]: row for row in rows}
    confirmed, changed = [], []
    for entry in entries:
        row = by_id.get(entry["volunteer_id"])
        if row is None:
            continue
        hours = Decimal(entry["hours"]).quantize(Decimal("0.1"))
        named = _("{name} {hours} 小时", name=row["display_name"], hours=hours)
        if row["status"] != "confirmed":
            confirmed.append(named)
        elif Decimal(str(row["hours"])) != hours:
            changed.append(named)
    absent = [
        by_id[v]["display_name"] for v in no_shows if v in by_id and by_id[v]["status"] != "no_show"
    ]
    given = {entry["volunteer_id"] for entry in entries} | set(no_shows)
    left = [
        _("{name}（{why}）", name=row["display_name"], why=unconfirmed_because(row))
        for row in rows
        if row["status"] not in ("confirmed", "no_show") and row["volunteer_id"] not in given
    ]
    named = [
        _("{what}：{names}", what=label, names="、".join(names))
        for label, names in (
            (_("新确认"), confirmed),
            (_("修改时长"), changed),
            (_("缺席"), absent),
        )
        if names
    ]
    unconfirmed = _("未确认 {n} 人：{names}", n=len(left), names="、".join(left)) if left else None
    return named, unconfirmed
