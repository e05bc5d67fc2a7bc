"""Check-in at the door (issue 20 item 4): the QR carries a scan token that stays good for five
minutes (a volunteer scans, signs in, reads the page and taps), at its own activity only, and a
wrong or stale one counts toward the wrong-code limit like a wrong code. A volunteer checked in
on their account checks out with one tap, no code, until check-in closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from checkin_support import check_in, live_code, secret_of, signed_up, starting_soon
from test_checkin_attempts import scan, the_wait_is_over

from events.envelope import utcnow
from services.volunteers import operations, rules

STEP = timedelta(seconds=rules.CODE_STEP_SECONDS)


def qr_token(desk, activity) -> str:
    """What the organizer's screen puts in the QR now: the check-in page's ``code``."""
    shown = desk.call(
        "GET",
        f"/api/v1/activities/{activity['activity_id']}/checkin-code",
        "organizer",
        organizer=True,
    ).get_json()
    return parse_qs(urlsplit(shown["url"]).query)["code"][0]


def step_end(token: str) -> datetime:
    """When the screen stopped showing a token (the end of its 30-second step)."""
    step = int(token.partition("-")[0])
    return datetime.fromtimestamp((step + 1) * rules.CODE_STEP_SECONDS, tz=UTC)


def scan_at(desk, activity, volunteer, code, now):
    """A volunteer's scan at a given moment; a refusal's count is committed, as the API does."""
    with desk.factory() as session:
        try:
            found = operations.check_in(
                session, activity["activity_id"], volunteer, code=code, now=now, address="192.0.2.1"
            )
        except operations.CodeRefused:
            session.commit()
            raise
        session.commit()
        return found


def test_a_code_taken_from_the_qr_still_checks_in_four_minutes_later(desk):
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    token = qr_token(desk, activity)
    # Scanned, signed in, read the page, tapped: minutes later, not seconds.
    record, created = scan_at(desk, activity, volunteer, token, utcnow() + timedelta(minutes=4))
    assert created and record.volunteer_id == volunteer


def test_a_scan_token_is_good_for_five_minutes_after_the_screen_stopped_showing_it(desk):
    activity = starting_soon(desk)
    (late, in_time) = signed_up(desk, activity, 2)
    token = qr_token(desk, activity)
    assert timedelta(minutes=5) == rules.SCAN_TOKEN_GOOD_FOR
    last = step_end(token) + rules.SCAN_TOKEN_GOOD_FOR
    with pytest.raises(operations.CodeRefused) as refused:
        scan_at(desk, activity, late, token, last + timedelta(seconds=1))
    assert refused.value.code == "code-invalid"
    _record, created = scan_at(desk, activity, in_time, token, last - timedelta(seconds=1))
    assert created
    # The 6 typed digits are still good for one minute at most, as before.
    secret = secret_of(desk, activity)
    assert not rules.code_is_valid(secret, live_code(desk, activity), utcnow() + 2 * STEP)


def test_a_scan_token_is_good_at_its_own_activity_only_and_cannot_be_forged(desk):
    ours, theirs = starting_soon(desk), starting_soon(desk)
    token = qr_token(desk, ours)
    now = utcnow()
    assert rules.code_is_valid(secret_of(desk, ours), token, now)
    assert not rules.code_is_valid(secret_of(desk, theirs), token, now)
    step, _, mac = token.partition("-")
    later = f"{int(step) + 1}-{mac}"  # another step under the same MAC
    flipped = f"{step}-{'0' if mac[0] != '0' else '1'}{mac[1:]}"
    for forged in (later, flipped, f"{step}-", f"-{mac}", f"{step}-{mac.upper()}", "١٢٣-٤٥٦"):
        assert not rules.code_is_valid(secret_of(desk, ours), forged, now), forged
    (volunteer,) = signed_up(desk, theirs)
    answer = check_in(desk, theirs, volunteer, code=token)
    assert answer.status_code == 400
    assert answer.get_json()["type"] == "urn:shiliu:problem:code-invalid"


def test_wrong_and_stale_scan_tokens_count_toward_the_wrong_code_limit(desk):
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    secret = secret_of(desk, activity)
    stale = rules.scan_token(secret, utcnow() - rules.SCAN_TOKEN_GOOD_FOR - 2 * STEP)
    forged = f"{rules.time_step(utcnow())}-0123456789abcdef"
    for code in [stale, forged, stale, forged]:
        answer = scan(desk, activity, volunteer, code)
        assert answer.status_code == 400, answer.get_json()
    assert scan(desk, activity, volunteer, forged).status_code == 429
    # Held: even a good token waits, then gets in.
    assert scan(desk, activity, volunteer, qr_token(desk, activity)).status_code == 429
    the_wait_is_over(desk)
    assert scan(desk, activity, volunteer, qr_token(desk, activity)).status_code == 201


def test_a_checked_in_volunteer_checks_out_with_one_tap_until_check_in_closes(desk):
    activity = starting_soon(desk)
    volunteer, stayed_late = signed_up(desk, activity, 2)
    path = f"/api/v1/activities/{activity['activity_id']}/checkouts"
    assert desk.call("POST", path, volunteer, json={}).status_code == 409  # not checked in yet
    for who in (volunteer, stayed_late):
        assert check_in(desk, activity, who, code=live_code(desk, activity)).status_code == 201
    out = desk.call("POST", path, volunteer, json={})
    assert out.status_code == 200, out.get_json()
    assert out.get_json()["checked_out_at"] and out.get_json()["message"].startswith("签退成功")
    # After check-in closed, one tap is not enough: the screen's code, or the organizer.
    after = activity["ends_at"] + timedelta(minutes=1)
    code = rules.current_code(secret_of(desk, activity), after)[0]
    with desk.factory() as session:
        with pytest.raises(operations.CheckinRefused) as refused:
            operations.check_out(session, activity["activity_id"], stayed_late, now=after)
        assert refused.value.code == "checkout-closed"
        record, changed = operations.check_out(
            session, activity["activity_id"], stayed_late, code=code, now=after
        )
        assert changed and record.checked_out_at is not None
