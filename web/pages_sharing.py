"""Taking an activity elsewhere (issue 20 item 16): its address opens a map app, the activity goes
into the phone's calendar (an .ics file), and a share card (title, time, place and a QR code of
the activity's page) is shown to friends or printed for the notice board."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import segno
from flask import Blueprint, render_template, url_for
from icalendar import Calendar, Event

from services.common.api import file_answer
from web.i18n import _
from web.pages_activities import readable

bp = Blueprint("sharing", __name__)
AMAP = "https://uri.amap.com"  # opens the 高德 map app where it is installed, its web map otherwise


@bp.app_template_global()
def map_url(activity: dict) -> str | None:
    """A map link of the activity's place: a marker at its coordinates (WGS 84, as browsers and
    check-in use them), else a search for its address; None when it has neither."""
    address = (activity.get("address") or "").strip()
    if activity.get("latitude") is not None and activity.get("longitude") is not None:
        name = quote(address or activity.get("title") or "", safe="")
        position = f"{activity['longitude']},{activity['latitude']}"
        return f"{AMAP}/marker?position={position}&name={name}&coordinate=wgs84&callnative=1"
    if address:
        return f"{AMAP}/search?keyword={quote(address, safe='')}&callnative=1"
    return None


def _page_url(activity_id: str) -> str:
    return url_for("activities.public_detail", activity_id=activity_id, _external=True)


@bp.get("/activities/<activity_id>/calendar.ics")
def calendar(activity_id):
    """The activity as an iCalendar event (RFC 5545) for the phone's calendar."""
    activity, _organizes = readable(activity_id)
    url = _page_url(activity["id"])
    event = Event()
    event.add("uid", f"activity-{activity['id']}@shiliu")
    # Without METHOD, DTSTAMP is when the activity was last changed (RFC 5545 §3.8.7.2).
    event.add("dtstamp", datetime.fromisoformat(activity["updated_at"]).replace(microsecond=0))
    event.add("dtstart", datetime.fromisoformat(activity["starts_at"]))
    event.add("dtend", datetime.fromisoformat(activity["ends_at"]))
    event.add("summary", activity["title"])
    event.add("location", activity["address"] or activity["host_unit_name"])
    if activity.get("latitude") is not None and activity.get("longitude") is not None:
        event.add("geo", (activity["latitude"], activity["longitude"]))
    event.add("description", "\n\n".join(filter(None, [activity["description"], url])))
    event.add("url", url)
    event.add("status", "CANCELLED" if activity["status"] == "cancelled" else "CONFIRMED")
    calendar_ = Calendar()
    calendar_.add("prodid", "-//Shiliu//Activities//ZH")
    calendar_.add("version", "2.0")
    calendar_.add_component(event)
    return file_answer(
        calendar_.to_ical(), "text/calendar", f"activity-{activity['id']}.ics", inline=False
    )


@bp.get("/activities/<activity_id>/share")
def share(activity_id):
    """A card to show or print: title, time, place and a QR code that opens the activity."""
    activity, _organizes = readable(activity_id)
    url = _page_url(activity["id"])
    # A viewBox and no size: the QR fills its box; a quiet zone of 4 modules, as scanners want.
    qr_svg = segno.make(url, error="m").svg_inline(scale=6, border=4, omitsize=True)
    return render_template(
        "activity_share.html",
        activity=activity,
        url=url,
        qr_svg=qr_svg,
        qr_label=_("打开这个活动的二维码"),
    )
