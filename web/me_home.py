"""The "我的" home (issue 20 items 15 and 17): on one's own page, what a volunteer comes back to
see — confirmed hours and points, stars with how far the next one is, their rank in their
community this year, the next activity, the certificates, and a small chart of hours by month (server-drawn SVG: nothing is loaded from
outside the platform, and the numbers are in the page as text too).

Everything is read through the services' APIs with the person's own token, as the other pages
do; a part that does not answer leaves its piece out rather than the page.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import current_app

from events.settings import city_zone
from services.common.errors import DomainError
from web import charts, services_client
from web.identity import access_token_for

MONTHS = 12


def home(account) -> dict | None:
    """What the home shows (for someone with a volunteer profile), or None when the volunteers
    service does not know them."""
    token = access_token_for(account)["access_token"]

    def read(service: str, path: str, **params):
        return services_client.call(service, "GET", path, token=token, params=params or None)

    try:
        hours = read("volunteers", "/api/v1/volunteers/me/hours")
    except DomainError:
        return None
    try:
        ledger = read("ledger", f"/api/v1/ledger/volunteers/{account.id}", per_page=1)
    except DomainError:
        ledger = None
    try:
        standing = read("ledger", "/api/v1/ledger/standings/community", per_page=1)
    except DomainError:
        standing = None
    try:
        signups = read("volunteers", "/api/v1/volunteers/me/signups", per_page=100)["items"]
    except DomainError:
        signups = []
    total = Decimal(str(hours["total_hours"]))
    return {
        "hours": total,
        "points": ledger["balance"] if ledger else None,
        "stars": ledger["stars"] if ledger else None,
        "rank": standing["mine"]["rank"] if standing and standing["mine"] else None,
        "community": standing["unit_name"] if standing else None,
        "next_star": next_star(total, current_app.extensions["shiliu"].settings.star_hours),
        "next_activity": next_activity(signups),
        "months": by_month(hours["items"], datetime.now(city_zone()).date()),
        "certificate": bool(hours["items"]),
    }


def next_star(hours: Decimal, thresholds: tuple[int, ...]) -> dict | None:
    """The next star's threshold, the hours still to go and the share done (None after the last)."""
    earned = [t for t in thresholds if hours >= t]
    ahead = [t for t in thresholds if hours < t]
    if not ahead:
        return None
    start = earned[-1] if earned else 0
    share = (hours - start) / (ahead[0] - start)
    return {
        "number": len(earned) + 1,
        "at": ahead[0],
        "to_go": ahead[0] - hours,
        "percent": int(share * 100),
    }


def next_activity(signups: list[dict]) -> dict | None:
    """The soonest activity still ahead that one holds a place or a waitlist ticket for."""
    now = datetime.now(city_zone())
    ahead = [
        item
        for item in signups
        if item["activity"]["status"] != "cancelled"
        and item["signup"]["status"] in ("confirmed", "waitlisted")
        and datetime.fromisoformat(item["activity"]["ends_at"]) >= now
    ]
    return min(ahead, key=lambda item: item["activity"]["starts_at"], default=None)


def by_month(records: list[dict], today: date) -> list[dict]:
    """Hours of the last twelve months (this one last), each with its bar in the chart."""
    months = []
    year, month = today.year, today.month
    for _ in range(MONTHS):
        months.append({"year": year, "month": month, "hours": Decimal(0)})
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    index = {(m["year"], m["month"]): m for m in months}
    for record in records:
        day = date.fromisoformat(record["activity_date"])
        if (day.year, day.month) in index:
            index[(day.year, day.month)]["hours"] += Decimal(str(record["hours"]))
    return charts.columns(months, "hours")
