"""Example payloads of the event types that share them: each type is registered with one
(events/catalog.py), the AsyncAPI document shows it, and the contract tests check that it is
valid and stays so."""

UNIT = {
    "unit_id": "u-xq",
    "name": "新碶街道",
    "kind": "street",
    "parent_id": "u-bl",
    "path": "/nb/bl/xq/",
}
ACTIVITY = {
    "activity_id": "a-1",
    "title": "三月邻里节",
    "category": "festival",
    "dimensions": ["culture", "society"],
    "host_unit_id": "u-xq",
    "host_unit_path": "/nb/bl/xq/",
    "co_host_unit_ids": [],
    "starts_at": "2026-03-08T06:00:00+00:00",
    "ends_at": "2026-03-08T09:30:00+00:00",
    "signup_opens_at": None,
    "signup_closes_at": None,
    "walk_ins_allowed": True,
    "points_rule_version": 1,
    "shifts": [
        {"shift_id": "s-1", "name": "默认岗位", "capacity": 30, "hour_weight": None},
        {"shift_id": "s-2", "name": "翻译", "capacity": 2, "hour_weight": "1.50"},
    ],
    "address": "新碶街道富春社区文化家园",
    "latitude": "29.906123",
    "longitude": "121.844567",
    "checkin_radius_m": 300,
    "checkin_opens_at": None,
    "checkin_closes_at": None,
    "organizer_id": "acc-3",
}
VOLUNTEER = {
    "volunteer_id": "v-1",
    "display_name": "阿依古丽",
    "home_unit_id": "u-fc",
    "team_id": "u-team",
}
SIGNUP = {
    "signup_id": "su-1",
    "volunteer_id": "v-1",
    "activity_id": "a-1",
    "shift_id": "s-1",
    "party_size": 1,
    "at": "2026-03-01T02:00:00+00:00",
}
CONFIRMED = {
    "attendance_id": "at-1",
    "volunteer_id": "v-1",
    "activity_id": "a-1",
    "shift_id": "s-1",
    "hours": "3.5",
    "activity_date": "2026-03-08",
    "confirmed_by": "acc-9",
    "confirmed_at": "2026-03-08T10:00:00+00:00",
    "shift_weight": "1.50",
    "cross_group": True,
}
ENTRY = {
    "entry_id": "e-1",
    "volunteer_id": "v-1",
    "points": 40,
    "reason_code": "attendance",
    "activity_id": "a-1",
    "rule_version": 1,
    "source_event_id": "7d9f3c1e-2f44-4d0e-9a63-0b6f4f1f9b10",
    "hours": "4.0",
}
