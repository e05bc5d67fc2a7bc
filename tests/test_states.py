"""Statuses as enums with their labels, the award cycle's transition table, hours stored as
numbers (the migration that converts the strings kept so far, on both engines), and the kinds of
refusal with their status, code and title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command
from databases import ENGINES
from sqlalchemy import create_engine, text

from services.common.db import alembic_config
from services.common.errors import Conflict
from services.common.states import (
    CYCLE_TRANSITIONS,
    ActivityStatus,
    AttendanceStatus,
    CandidateStatus,
    CycleStatus,
    SignupStatus,
    allowed_moves,
)
from services.ledger.awards.models import AwardCycle
from services.ledger.awards.operations._common import check_move, move_cycle

# ---- statuses ----------------------------------------------------------------------------


def test_statuses_keep_the_strings_the_databases_and_events_hold():
    assert [s.value for s in ActivityStatus] == [
        "draft",
        "published",
        "completed",
        "closed",
        "cancelled",
    ]
    assert [s.value for s in SignupStatus] == ["confirmed", "waitlisted", "cancelled"]
    assert [s.value for s in AttendanceStatus] == ["open", "confirmed", "no_show"]
    assert SignupStatus.CONFIRMED == "confirmed" and f"{CycleStatus.NOTICE}" == "notice"
    assert CycleStatus.label_of("open") == "评审中" and CandidateStatus.PROPOSED.label == "拟表彰"
    assert CycleStatus.label_of("no-such-status") == "no-such-status"


# ---- the award cycle's transitions -------------------------------------------------------


def test_the_transition_table_refuses_a_move_it_does_not_allow_with_the_act_s_message():
    found = AwardCycle(id="c-1", status=CycleStatus.OPEN)
    with pytest.raises(Conflict) as refused:
        check_move(found, "publish")
    assert refused.value.code == "wrong-status"
    assert refused.value.detail == "只有公示结束的评选可以发布（当前状态：评审中）"
    with pytest.raises(Conflict):
        move_cycle(found, "publish", CycleStatus.PUBLISHED)
    assert found.status == CycleStatus.OPEN

    # An act leads only where the table says, even from a status it may start from.
    with pytest.raises(ValueError, match="does not lead"):
        move_cycle(found, "start_notice", CycleStatus.PUBLISHED)
    move_cycle(found, "start_notice", CycleStatus.NOTICE)
    assert found.status == "notice"


def test_the_transition_table_reads_as_the_cycle_s_lifecycle():
    assert allowed_moves("draft") == ["open", "cancel"]
    assert "publish" in allowed_moves("notice") and "vote" not in allowed_moves("notice")
    assert allowed_moves("published") == ["revoke"]
    assert allowed_moves("cancelled") == [] and allowed_moves("revoked") == []
    reachable = {CycleStatus.DRAFT} | {to for move in CYCLE_TRANSITIONS.values() for to in move.to}
    assert reachable == set(CycleStatus)


# ---- hours as numbers --------------------------------------------------------------------


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_hours_migration_converts_the_strings_kept_so_far_and_back(make_settings, engine_name):
    url = make_settings(engine_name).database_url("volunteers")
    config = alembic_config("volunteers", url)
    command.upgrade(config, "0007")
    engine = create_engine(url)
    now = datetime(2026, 3, 8, 6, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO activity_views (activity_id, title, category, dimensions,"
                " host_unit_id, host_unit_path, starts_at, ends_at, walk_ins_allowed, address,"
                " status, checkin_secret, updated_at) VALUES ('a-1', '邻里节', 'festival', '[]',"
                " 'fc', '/nb/', :now, :now, false, '', 'closed', 's', :now)"
            ),
            {"now": now},
        )
        for row_id, status, hours in [
            ("at-1", "confirmed", "2.5"),
            ("at-2", "confirmed", "3.0"),
            ("at-3", "no_show", None),
        ]:
            conn.execute(
                text(
                    "INSERT INTO attendance (id, activity_id, volunteer_id, walk_in, status,"
                    " hours, created_at) VALUES (:id, 'a-1', :id, false, :status, :hours, :now)"
                ),
                {"id": row_id, "status": status, "hours": hours, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO hours_certificates (code, volunteer_id, digest, total_hours,"
                " records, issued_at) VALUES ('SLH-1', 'v-1', 'd', '5.5', 2, :now)"
            ),
            {"now": now},
        )

    command.upgrade(config, "head")
    with engine.connect() as conn:
        hours = dict(conn.execute(text("SELECT id, hours FROM attendance")).all())
        total = conn.execute(text("SELECT total_hours FROM hours_certificates")).scalar_one()
    assert {key: None if v is None else Decimal(str(v)) for key, v in hours.items()} == {
        "at-1": Decimal("2.5"),
        "at-2": Decimal("3"),
        "at-3": None,
    }
    assert not isinstance(hours["at-1"], str) and Decimal(str(total)) == Decimal("5.5")

    command.downgrade(config, "0007")
    with engine.connect() as conn:
        hours = dict(conn.execute(text("SELECT id, hours FROM attendance")).all())
        total = conn.execute(text("SELECT total_hours FROM hours_certificates")).scalar_one()
    assert hours == {"at-1": "2.5", "at-2": "3.0", "at-3": None} and total == "5.5"
    engine.dispose()


# ---- refusals ----------------------------------------------------------------------------


def test_a_kind_of_refusal_states_its_status_code_and_title_and_inherits_what_it_leaves_out():
    from services.activities.operations import WrongStatus
    from services.common.auth import Unauthenticated
    from services.common.errors import DomainError
    from services.volunteers.operations.codes import TooManyWrongCodes

    assert (Unauthenticated.status, Unauthenticated.code, Unauthenticated.title) == (
        401,
        "unauthenticated",
        "请先登录",
    )
    # WrongStatus names only its code: the status and title are Conflict's.
    assert (WrongStatus.status, WrongStatus.code, WrongStatus.title) == (
        409,
        "wrong-status",
        "状态冲突",
    )
    assert issubclass(WrongStatus, Conflict)
    refused = TooManyWrongCodes(timedelta(minutes=3))
    assert (refused.status, refused.code, refused.title) == (
        429,
        "too-many-wrong-codes",
        "尝试次数过多",
    )
    # One made on the spot may still say otherwise; the kind keeps its own.
    said = Conflict("已满", code="full", status=410)
    assert (said.status, said.code, Conflict.status, Conflict.code) == (
        410,
        "full",
        409,
        "conflict",
    )
    assert (DomainError.status, DomainError.code) == (400, "invalid")
