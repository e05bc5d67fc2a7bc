"""Domain operations of services/ledger. Each runs inside the caller's transaction.

Every transaction that writes ledger rows locks the chain head first (``_Writer``), so rows are
appended one transaction at a time and the hash chain stays linear; the standings totals are
added to in the same transaction, under the same lock.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import json
import os
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from events.context import correlation_id
from events.envelope import Event, format_time, utcnow
from events.outbox import emit_many
from events.settings import city_zone
from services.common.db import DriverStatement
from services.common.errors import Conflict, DomainError, NotFound
from services.ledger import rules as r
from services.ledger.chain import GENESIS, row_hash, totals_of_rows
from services.ledger.models import (
    ActivityView,
    Adjustment,
    AttendanceState,
    AuditEntry,
    ChainHead,
    LedgerEntry,
    NoShowState,
    PointsRule,
    PointsTotal,
    UnitView,
    VolunteerView,
)

PRODUCER = "ledger"
ENTRY_NAMESPACE = uuid.UUID("6f1c8f0e-5b2a-4d59-9a51-2d3c1e0b7a44")
STAR_HOURS_ENV = "SHILIU_LEDGER_STAR_HOURS"
DEFAULT_STAR_HOURS = (100, 300, 600, 1000, 1500)
REVERSAL_REASONS = {
    "correction": "时长更正，冲销原记录",
    "cap": "当日上限重新分配，冲销原记录",
    "no_show_cancelled": "已确认出勤，撤销缺席扣分",
}


def entry_uuid(millis: int, name: str) -> str:
    """The id of a row (or of its ``points.*`` event) caused at ``millis`` (milliseconds since
    1970, UTC) and named ``name`` by its cause: an RFC 9562 UUIDv8 whose first 48 bits are the
    moment and whose other 74 free bits are SHA-1 of the name in ``ENTRY_NAMESPACE``.

    A rebuild gives the same ids (the moment is the cause's own time: an event's
    ``occurred_at``, an approval's time), and ids made later sort later, so the unique indexes
    on entry ids and on the outbox's event ids take new rows at their end rather than on a
    random page each (see the README's benchmarks).
    """
    digest = bytearray(min(max(millis, 0), 2**48 - 1).to_bytes(6, "big"))
    digest += hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:10]
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def moment_ms(moment: datetime) -> int:
    """An aware time in whole milliseconds since 1970 (exactly: no floating point)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE_BYTES = ENTRY_NAMESPACE.bytes


def today() -> date:
    """Today's date in the city (``SHILIU_TIMEZONE``)."""
    return utcnow().astimezone(city_zone()).date()


def star_thresholds() -> tuple[int, ...]:
    """Star thresholds in hours, from SHILIU_LEDGER_STAR_HOURS (default 100,300,600,1000,1500)."""
    raw = os.environ.get(STAR_HOURS_ENV, "").strip()
    if not raw:
        return DEFAULT_STAR_HOURS
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise RuntimeError(
            f"{STAR_HOURS_ENV} must be comma-separated whole hours: {raw!r}"
        ) from exc
    if not values or list(values) != sorted(values) or len(values) > 5:
        raise RuntimeError(f"{STAR_HOURS_ENV} must be 1 to 5 increasing numbers: {raw!r}")
    return values


def audit(session: Session, actor_id: str, action: str, subject_id: str | None, detail) -> None:
    """Record a sensitive act in the ledger's audit trail."""
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            subject_id=subject_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str)[:1000],
        )
    )


# ---- rules -------------------------------------------------------------------------------


def rules(session: Session) -> list[SimpleNamespace]:
    """Every rule version, oldest first, as plain values (cached for the session: rules change
    rarely, and the points of every event are computed from them)."""
    cached = session.info.get("ledger_rules")
    if cached is None:
        rows = session.execute(select(PointsRule.__table__).order_by(PointsRule.version))
        cached = [SimpleNamespace(**row._mapping) for row in rows]
        session.info["ledger_rules"] = cached
    return cached


def rule_version(session: Session, version: int) -> SimpleNamespace:
    """One rule version."""
    for rule in rules(session):
        if rule.version == version:
            return rule
    raise NotFound(f"积分规则第 {version} 版不存在", code="unknown-rule")


def rule_for(session: Session, day: date, known_at: datetime) -> SimpleNamespace:
    """The rule in force for attendance on ``day`` as it was known at ``known_at``.

    The latest effective date on or before the day wins (the newer version on a tie), among
    the rules recorded before the event happened: a rule never reaches back to events that
    were already there, so a rebuild from the event history computes exactly what the live
    ledger did.
    """
    candidates = [
        rule
        for rule in rules(session)
        if rule.effective_from <= day and rule.created_at <= known_at
    ]
    if not candidates:
        candidates = rules(session)[:1]
    if not candidates:
        raise RuntimeError("no points rule: the ledger's migrations create the default one")
    return max(candidates, key=lambda rule: (rule.effective_from, rule.version))


RULE_FIELDS = (
    "attendance_base",
    "points_per_hour",
    "max_half_hours",
    "cross_group_bonus_percent",
    "no_show_penalty",
    "daily_cap",
)


def create_rule(session: Session, actor_id: str, body: dict, idempotency_key: str | None = None):
    """Record a new rule version from its effective date (tomorrow at the earliest)."""
    if idempotency_key:
        known = session.scalar(
            select(PointsRule).where(PointsRule.idempotency_key == idempotency_key)
        )
        if known is not None:
            return known, False
    if body["effective_from"] <= today():
        raise DomainError(
            "新规则只能从明天或以后生效，已发生的积分不会被改写",
            code="effective-date-past",
            errors={"effective_from": ["生效日期必须晚于今天"]},
            status=422,
        )
    latest = session.scalar(select(PointsRule).order_by(PointsRule.version.desc()).limit(1))
    values = {name: getattr(latest, name) for name in RULE_FIELDS}
    if body.get("max_hours") is not None:
        values["max_half_hours"] = r.half_hours(body["max_hours"])
    values.update({name: body[name] for name in RULE_FIELDS if body.get(name) is not None})
    rule = PointsRule(
        version=(latest.version if latest else 0) + 1,
        effective_from=body["effective_from"],
        note=body.get("note") or "",
        created_by=actor_id,
        created_at=utcnow(),
        idempotency_key=idempotency_key,
        **values,
    )
    session.add(rule)
    session.flush()
    session.info.pop("ledger_rules", None)
    audit(session, actor_id, "rule.created", str(rule.version), rule_dict(rule))
    return rule, True


def rule_dict(rule) -> dict:
    """A rule as the API shows it."""
    return {
        "version": rule.version,
        "effective_from": rule.effective_from,
        "attendance_base": rule.attendance_base,
        "points_per_hour": rule.points_per_hour,
        "max_hours": r.format_hours(rule.max_half_hours),
        "cross_group_bonus_percent": rule.cross_group_bonus_percent,
        "no_show_penalty": rule.no_show_penalty,
        "daily_cap": rule.daily_cap,
        "note": rule.note,
        "created_by": rule.created_by,
        "created_at": rule.created_at,
    }


# ---- appending rows ----------------------------------------------------------------------


class _Row(SimpleNamespace):
    """A ledger row being appended (inserted with the other rows of its transaction)."""


def _locked_head(session: Session) -> ChainHead:
    """The chain head, locked for this transaction (once per transaction, again in savepoints:
    a lock taken inside a savepoint that is rolled back is released with it)."""
    root = session.get_transaction()
    cached = session.info.get("ledger_head")
    if cached is not None and cached[0] is root and not session.in_nested_transaction():
        return cached[1]
    head = session.get(ChainHead, 1, with_for_update=True)
    if head is None:
        head = ChainHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
    session.info["ledger_head"] = (root, head)
    return head


class _Writer:
    """Appends rows to the chain for one transaction, whatever their causes: the rows, their
    ``points.*`` events and the standings totals are written by ``flush``, one statement each.

    It locks the chain head when it is made, before anything it writes is read, so appends are
    serial and the chain linear; the head moves to the last row in ``flush`` (one writer at a
    time in a transaction).
    """

    def __init__(self, session: Session):
        self.session = session
        self.head = _locked_head(session)
        self.last_seq, self.last_hash = self.head.last_seq, self.head.last_hash
        self.recorded_at = utcnow()
        self.recorded_text = format_time(self.recorded_at)
        self.rows: list[_Row] = []
        self.events: list[Event] = []

    def cause(self, source: str, occurred_at: datetime, event: Event | None = None, **approval):
        """Rows for one cause: an event (its points events carry the event's correlation id) or
        an approval (``approval`` names who asked and who approved); ids derive from the cause."""
        return _Cause(self, source, occurred_at, event, approval)

    def flush(self) -> None:
        """Insert the appended rows and their events, and add the rows to the totals."""
        if not self.rows:
            return
        connection = self.session.connection()
        _driver(_ENTRY_INSERT, connection.dialect).many(connection, [vars(r) for r in self.rows])
        emit_many(self.session, self.events)
        add_to_totals(self.session, self.rows[0].seq, self.rows[-1].seq)
        self.head.last_seq, self.head.last_hash = self.last_seq, self.last_hash
        self.rows, self.events = [], []


_ENTRY_INSERT = insert(LedgerEntry.__table__).values(
    {column.name: bindparam(column.name) for column in LedgerEntry.__table__.columns}
)


@functools.lru_cache(maxsize=32)
def _driver(statement, dialect) -> DriverStatement:
    """A hot statement compiled once for a dialect (see ``DriverStatement``)."""
    return DriverStatement(statement, dialect)


class _Cause:
    """What one event or approval appends, numbered so that a rebuild gives the same ids."""

    def __init__(self, writer: _Writer, source: str, occurred_at: datetime, event, approval):
        self.writer = writer
        self.source = source
        self.source_event_id = event.id if event is not None else None
        self.correlation_id = event.correlation_id if event is not None else correlation_id()
        self.occurred_at = occurred_at
        self.occurred_text = format_time(occurred_at)
        self.moment_ms = moment_ms(occurred_at)
        self.approval = approval
        self.count = 0

    def append(self, **fields) -> _Row:
        """Append one row to the chain; its id is derived from the cause and its number."""
        self.count += 1
        writer = self.writer
        row = _Row(
            seq=writer.last_seq + 1,
            entry_id=entry_uuid(self.moment_ms, f"{self.source}/{self.count}"),
            source_event_id=self.source_event_id,
            occurred_at=self.occurred_at,
            recorded_at=writer.recorded_at,
            prev_hash=writer.last_hash,
            **{"hours_halves": 0, "rule_version": None, "reverses_entry_id": None, **fields},
        )
        row.hash = row_hash(row.prev_hash, row.seq, row, self.occurred_text, writer.recorded_text)
        writer.last_seq, writer.last_hash = row.seq, row.hash
        writer.rows.append(row)
        writer.events.append(self._event(row))
        return row

    def _event(self, row: _Row) -> Event:
        payload = {
            "entry_id": row.entry_id,
            "volunteer_id": row.volunteer_id,
            "points": row.points,
            "reason_code": row.reason_code,
            "activity_id": row.activity_id,
            "rule_version": row.rule_version,
            "source_event_id": row.source_event_id,
        }
        if row.kind == "reversal":
            name, payload["reverses_entry_id"] = "points.reversed", row.reverses_entry_id
        elif row.kind == "adjustment":
            name = "points.adjusted"
            payload.update(self.approval)
        else:
            name = "points.awarded"
        # Built from our own typed values (the contract test pins that they load).
        return Event(
            type=name,
            version=1,
            key=row.volunteer_id,
            payload=payload,
            producer=PRODUCER,
            id=entry_uuid(self.moment_ms, f"event/{row.entry_id}"),
            occurred_at=self.writer.recorded_text,
            correlation_id=self.correlation_id,
        )

    def reverse(self, entry_id: str, points: int, halves: int, reason: str, **fields):
        """Append the row that cancels an earlier one."""
        return self.append(
            kind="reversal",
            reason_code=reason,
            points=-points,
            hours_halves=-halves,
            explanation=f"{REVERSAL_REASONS[reason]} {r.format_points(points)}分",
            reverses_entry_id=entry_id,
            **fields,
        )


def _event_time(event: Event) -> datetime:
    return datetime.fromisoformat(event.occurred_at).astimezone(UTC)


def version_key(confirmed_at: datetime, corrected: bool, event_id: str) -> str:
    """Orders the words on one attendance: later confirmation wins, a correction wins a tie."""
    return f"{format_time(confirmed_at)}|{1 if corrected else 0}|{event_id}"


# ---- standings totals --------------------------------------------------------------------


def periods_of(day: date) -> tuple[int, int, int]:
    """The totals' periods a day falls in: its year, its month and itself (2026, 202603, 20260308)."""
    month = day.year * 100 + day.month
    return day.year, month, month * 100 + day.day


# What reading one period's totals costs, roughly: a month's totals are never more than its
# days' together, and a year's never more than its months'.
_PERIOD_COST = {4: 40, 6: 20, 8: 1}  # by the number of digits: year, month, day


def _cost(signed: list[tuple[int, int]]) -> int:
    return sum(_PERIOD_COST[len(str(period))] for _, period in signed)


def _negated(signed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(-sign, period) for sign, period in signed]


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _days(first: date, last: date) -> list[tuple[int, int]]:
    count = (last - first).days + 1
    return [(1, periods_of(first + timedelta(days=n))[2]) for n in range(max(0, count))]


def _within_month(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one month: the days themselves, or the month less the other days."""
    month_start, month_end = first.replace(day=1), _month_end(first)
    if first == month_start and last == month_end:
        return [(1, periods_of(first)[1])]
    less = [(1, periods_of(first)[1])]
    if first > month_start:
        less += _negated(_days(month_start, first - timedelta(days=1)))
    if last < month_end:
        less += _negated(_days(last + timedelta(days=1), month_end))
    return min(_days(first, last), less, key=_cost)


def _months(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one year, month by month."""
    signed: list[tuple[int, int]] = []
    day = first
    while day <= last:
        month_last = min(_month_end(day), last)
        signed += _within_month(day, month_last)
        if month_last == date.max:
            break
        day = month_last + timedelta(days=1)
    return signed


def _within_year(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one year: its months and days, or the year less the other months and days."""
    year_start, year_end = date(first.year, 1, 1), date(first.year, 12, 31)
    if first == year_start and last == year_end:
        return [(1, first.year)]
    less = [(1, first.year)]
    if first > year_start:
        less += _negated(_months(year_start, first - timedelta(days=1)))
    if last < year_end:
        less += _negated(_months(last + timedelta(days=1), year_end))
    return min(_months(first, last), less, key=_cost)


def periods_between(start: date, end: date) -> list[tuple[int, int]]:
    """Signed periods whose totals make up ``start``..``end`` exactly, as cheaply as they can:
    (1, period) adds a period's totals, (-1, period) takes them away again (the 1st to the 28th
    of March is March less its last three days; January to mid-November is the year less the
    rest of November and December)."""
    signed: list[tuple[int, int]] = []
    for year in range(start.year, end.year + 1):
        signed += _within_year(max(start, date(year, 1, 1)), min(end, date(year, 12, 31)))
    return signed


def add_to_totals(session: Session, first_seq: int, last_seq: int) -> None:
    """Add the ledger rows numbered ``first_seq``..``last_seq`` to the totals of their days,
    months and years, in one statement. Call it with the chain locked, as ``_Writer.flush``
    does: the volunteers' home units are read here, and ``follow_volunteer`` moves them under
    that lock."""
    session.execute(
        _totals_upsert(session.get_bind().dialect.name),
        {"first_seq": first_seq, "last_seq": last_seq},
    )


@functools.cache
def _totals_upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    seq = LedgerEntry.__table__.c.seq
    sums = totals_of_rows(
        seq >= bindparam("first_seq", type_=BigInteger),
        seq <= bindparam("last_seq", type_=BigInteger),
    ).subquery("sums")
    found = (
        select(
            sums.c.period,
            sums.c.volunteer_id,
            sums.c.points,
            sums.c.entries,
            VolunteerView.home_unit_id,
            VolunteerView.team_id,
        )
        .select_from(sums)
        .join(VolunteerView, VolunteerView.volunteer_id == sums.c.volunteer_id, isouter=True)
        .where(sums.c.entries > 0)  # SQLite needs a WHERE between a join and ON CONFLICT
    )
    totals = PointsTotal.__table__
    statement = dialect_insert(totals).from_select(
        ["period", "volunteer_id", "points", "entries", "home_unit_id", "team_id"], found
    )
    return statement.on_conflict_do_update(
        index_elements=[totals.c.volunteer_id, totals.c.period],
        set_={
            "points": totals.c.points + statement.excluded.points,
            "entries": totals.c.entries + statement.excluded.entries,
        },
    )


def follow_volunteer(session: Session, volunteer_id: str, home_unit_id: str, team_id) -> None:
    """Move a volunteer's totals to their home unit and team as the ledger now knows them.

    The chain is locked first, as by every transaction that adds to the totals, so totals being
    added at the same time by another consumer are either seen here or see the new home.
    """
    _locked_head(session)
    totals = PointsTotal.__table__
    session.execute(
        update(totals)
        .where(
            totals.c.volunteer_id == volunteer_id,
            or_(
                totals.c.home_unit_id.is_distinct_from(home_unit_id),
                totals.c.team_id.is_distinct_from(team_id),
            ),
        )
        .values(home_unit_id=home_unit_id, team_id=team_id)
    )


# ---- attendance --------------------------------------------------------------------------


def _in_chunks(keys, size: int = 400):
    keys = list(keys)
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _matching(session: Session, columns, keys) -> tuple:
    """A table of ``keys`` (tuples of values of ``columns``) to join on, the join condition and
    the parameters: ``json_each`` on SQLite, ``unnest`` on PostgreSQL. Both engines answer it
    with one index lookup per key (SQLite scans the whole table for a tuple IN), and the
    statement stays the same whatever the number of keys (so it is compiled once)."""
    keys = list(keys)
    if session.get_bind().dialect.name == "postgresql":
        arrays = [bindparam(f"key{n}", type_=ARRAY(c.type)) for n, c in enumerate(columns)]
        names = [f"key{n}" for n in range(len(columns))]
        wanted = func.unnest(*arrays).table_valued(*names, name="wanted").render_derived()
        condition = and_(*(c == wanted.c[name] for c, name in zip(columns, names, strict=True)))
        params = {name: [key[n] for key in keys] for n, name in enumerate(names)}
        return wanted, condition, params
    wanted = func.json_each(bindparam("keys", type_=String)).table_valued("value", name="wanted")
    condition = and_(
        *(c == func.json_extract(wanted.c.value, literal(f"$[{n}]")) for n, c in enumerate(columns))
    )
    plain = [[v.isoformat() if isinstance(v, date) else v for v in key] for key in keys]
    return wanted, condition, {"keys": json.dumps(plain, ensure_ascii=False)}


class _State(SimpleNamespace):
    """A row of ``attendance_states`` or ``no_show_states`` held in memory while a batch runs."""


class _Book:
    """The attendance and no-show state a run of attendance events reads and changes: loaded in a
    few queries up front, kept in memory while the events are applied in order, written back by
    ``save`` in one statement per table.

    What is loaded is everything the events can look at: the states of their attendance ids,
    every state on the (volunteer, day) pairs they settle (their new days and the days those
    states had), every state on the (volunteer, activity) pairs of no-shows, the no-shows of their
    sign-up ids and the penalties in force on the (volunteer, activity) pairs attended.
    """

    ATTENDANCE = AttendanceState.__table__
    NO_SHOWS = NoShowState.__table__

    def __init__(self, session: Session, items: list[tuple[Event, dict]]):
        self.session = session
        self.attendance: dict[str, _State] = {}
        self.by_day: dict[tuple[str, date], set[str]] = defaultdict(set)
        self.by_activity: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.no_shows: dict[str, _State] = {}
        self.penalties: dict[tuple[str, str], list[_State]] = defaultdict(list)
        self.dirty_attendance: set[str] = set()
        self.dirty_no_shows: set[str] = set()
        self._load(items)

    # -- loading ---------------------------------------------------------------------------

    def _load(self, items) -> None:
        counted = [p for e, p in items if e.type != "attendance.no_show"]
        absent = [p for e, p in items if e.type == "attendance.no_show"]
        table = self.ATTENDANCE
        for chunk in _in_chunks({p["attendance_id"] for p in counted}):
            self._load_attendance(table.c.attendance_id.in_(chunk))
        owner: dict[str, str] = {}  # whose attendance it is (a state keeps its first volunteer)
        for payload in counted:
            known = self.attendance.get(payload["attendance_id"])
            owner.setdefault(
                payload["attendance_id"], known.volunteer_id if known else payload["volunteer_id"]
            )
        days = {(owner[p["attendance_id"]], p["activity_date"]) for p in counted}
        days |= {(s.volunteer_id, s.activity_date) for s in self.attendance.values()}
        session = self.session
        if days:
            self._load_attendance(
                *_matching(session, (table.c.volunteer_id, table.c.activity_date), days)
            )
        absent_at = {(p["volunteer_id"], p["activity_id"]) for p in absent}
        if absent_at:
            self._load_attendance(
                *_matching(session, (table.c.volunteer_id, table.c.activity_id), absent_at)
            )
        shows = self.NO_SHOWS
        for chunk in _in_chunks({p["signup_id"] for p in absent}):
            self._load_no_shows(shows.c.signup_id.in_(chunk))
        attended = {(owner[p["attendance_id"]], p["activity_id"]) for p in counted}
        if attended:
            wanted, on, params = _matching(
                session, (shows.c.volunteer_id, shows.c.activity_id), attended
            )
            self._load_no_shows(shows.c.penalty_entry_id.is_not(None), wanted, on, params)
        for penalties in self.penalties.values():
            penalties.sort(key=lambda state: state.penalty_seq)

    def _load_attendance(self, *where) -> None:
        """Load attendance states: ``(condition)`` or ``(join target, condition, parameters)``."""
        query, params = select(self.ATTENDANCE), {}
        if len(where) == 3:
            query, params = query.join(where[0], where[1]), where[2]
        else:
            query = query.where(*where)
        for row in self.session.execute(query, params):
            if row.attendance_id not in self.attendance:
                self._index(_State(**row._mapping))

    def _load_no_shows(self, condition, wanted=None, on=None, params=None) -> None:
        shows = self.NO_SHOWS
        query = select(shows, LedgerEntry.seq.label("penalty_seq")).join(
            LedgerEntry, LedgerEntry.entry_id == shows.c.penalty_entry_id, isouter=True
        )
        if wanted is not None:
            query = query.join(wanted, on)
        for row in self.session.execute(query.where(condition), params or {}):
            if row.signup_id in self.no_shows:
                continue
            state = _State(**row._mapping)
            self.no_shows[state.signup_id] = state
            if state.penalty_entry_id is not None:
                self.penalties[(state.volunteer_id, state.activity_id)].append(state)

    def _index(self, state: _State) -> None:
        self.attendance[state.attendance_id] = state
        self.by_day[(state.volunteer_id, state.activity_date)].add(state.attendance_id)
        self.by_activity[(state.volunteer_id, state.activity_id)].add(state.attendance_id)

    # -- reading and changing --------------------------------------------------------------

    def on_day(self, volunteer_id: str, day: date) -> list[_State]:
        """The volunteer's attendance states of a day, by attendance id."""
        return [self.attendance[a] for a in sorted(self.by_day[(volunteer_id, day)])]

    def attended(self, volunteer_id: str, activity_id: str) -> bool:
        """Whether the ledger counts an attendance of the volunteer at the activity."""
        return bool(self.by_activity[(volunteer_id, activity_id)])

    def count(self, attendance_id: str, volunteer_id: str, **values) -> _State:
        """Record the word that now counts on an attendance (a new state, or the state changed)."""
        state = self.attendance.get(attendance_id)
        if state is None:
            state = _State(
                attendance_id=attendance_id,
                volunteer_id=volunteer_id,
                award_entry_id=None,
                awarded_points=0,
                awarded_halves=0,
                award_date=None,
                **values,
            )
        else:
            self.by_day[(state.volunteer_id, state.activity_date)].discard(attendance_id)
            self.by_activity[(state.volunteer_id, state.activity_id)].discard(attendance_id)
            vars(state).update(values)
        self._index(state)
        self.dirty_attendance.add(attendance_id)
        return state

    def awarded(self, state: _State, entry: _Row, share: int, day: date) -> None:
        """The award row now in force for an attendance."""
        state.award_entry_id, state.awarded_points = entry.entry_id, share
        state.awarded_halves, state.award_date = state.half_hours, day
        self.dirty_attendance.add(state.attendance_id)

    def no_show(self, payload: dict) -> _State:
        """Record a no-show, without a penalty yet."""
        state = _State(
            signup_id=payload["signup_id"],
            volunteer_id=payload["volunteer_id"],
            activity_id=payload["activity_id"],
            activity_date=payload["activity_date"],
            penalty_entry_id=None,
            penalty_points=0,
            penalty_seq=None,
        )
        self.no_shows[state.signup_id] = state
        self.dirty_no_shows.add(state.signup_id)
        return state

    def penalized(self, state: _State, entry: _Row, points: int) -> None:
        """The penalty row now in force for a no-show."""
        state.penalty_entry_id, state.penalty_points, state.penalty_seq = (
            entry.entry_id,
            points,
            entry.seq,
        )
        self.penalties[(state.volunteer_id, state.activity_id)].append(state)
        self.dirty_no_shows.add(state.signup_id)

    def penalties_on(self, volunteer_id: str, activity_id: str) -> list[_State]:
        """The penalties in force for the volunteer at the activity, oldest first."""
        return list(self.penalties[(volunteer_id, activity_id)])

    def penalty_cancelled(self, state: _State) -> None:
        """A no-show's penalty was reversed."""
        self.penalties[(state.volunteer_id, state.activity_id)].remove(state)
        state.penalty_entry_id, state.penalty_points, state.penalty_seq = None, 0, None
        self.dirty_no_shows.add(state.signup_id)

    # -- writing ---------------------------------------------------------------------------

    def save(self) -> None:
        """Write the changed states, one statement per table."""
        for table, key, states in (
            (self.ATTENDANCE, "attendance_id", [self.attendance[a] for a in self.dirty_attendance]),
            (self.NO_SHOWS, "signup_id", [self.no_shows[s] for s in self.dirty_no_shows]),
        ):
            if states:
                names = [column.name for column in table.columns]
                values = [{name: getattr(s, name) for name in names} for s in states]
                values.sort(key=lambda v: v[key])
                connection = self.session.connection()
                upsert = _state_upsert_statement(table, connection.dialect.name, key)
                _driver(upsert, connection.dialect).many(connection, values)


@functools.cache
def _state_upsert_statement(table, dialect: str, key: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name != key},
    )


def apply_attendance(session: Session, items: list[tuple[Event, dict]]) -> None:
    """Apply ``attendance.confirmed``, ``attendance.corrected`` and ``attendance.no_show`` events
    in order, exactly as applying them one by one would: the state they need is read in a few
    queries, the rows are computed here and written with their events and totals in bulk."""
    writer = _Writer(session)  # the chain is locked before any state is read
    book = _Book(session, items)
    for event, payload in items:
        if event.type == "attendance.no_show":
            _record_no_show(session, book, writer, event, payload)
        else:
            corrected = event.type == "attendance.corrected"
            _count_attendance(session, book, writer, event, payload, corrected)
    book.save()
    writer.flush()


def _count_attendance(session, book: _Book, writer: _Writer, event, payload, corrected) -> None:
    """The newest word on an attendance counts: its award is reversed and written anew, and the
    day's cap shared out again."""
    key = version_key(payload["confirmed_at"], corrected, event.id)
    state = book.attendance.get(payload["attendance_id"])
    if state is not None and state.version_key >= key:
        return  # an older (or the same) word on this attendance: the newer one already counts
    cause = writer.cause(event.id, _event_time(event), event)
    day = payload["activity_date"]
    rule = rule_for(session, day, cause.occurred_at)
    halves = min(r.half_hours(payload["hours"]), rule.max_half_hours)
    weight = r.weight_percent(payload.get("shift_weight"))
    cross = bool(payload.get("cross_group"))
    computed = r.attendance_points(rule, halves, weight, cross).points
    content = (day, halves, weight, cross, rule.version, payload["activity_id"])
    old_day, same = None, False
    if state is not None:
        old_day = state.activity_date
        same = content == (
            state.activity_date,
            state.half_hours,
            state.weight_percent,
            state.cross_group,
            state.rule_version,
            state.activity_id,
        )
    state = book.count(
        payload["attendance_id"],
        payload["volunteer_id"],
        activity_id=payload["activity_id"],
        activity_date=day,
        version_key=key,
        source_event_id=event.id,
        half_hours=halves,
        weight_percent=weight,
        cross_group=cross,
        rule_version=rule.version,
        computed_points=computed,
    )
    changed = None if same else state.attendance_id
    _settle_day(session, book, cause, state.volunteer_id, day, rule, changed)
    if old_day is not None and old_day != day:
        _settle_day(session, book, cause, state.volunteer_id, old_day, rule, None)
    _cancel_no_shows(book, cause, state.volunteer_id, state.activity_id)


def _settle_day(session, book: _Book, cause: _Cause, volunteer_id: str, day: date, rule, changed):
    """Share the day's cap among the volunteer's attendances (by attendance id) and rewrite the
    awards whose share changed: the day's total is always min(cap, sum of their points)."""
    states = book.on_day(volunteer_id, day)
    shares = r.allocate_daily_cap([s.computed_points for s in states], rule.daily_cap)
    for state, share in zip(states, shares, strict=True):
        is_changed = state.attendance_id == changed
        if not is_changed and state.award_entry_id is not None and share == state.awarded_points:
            continue
        if state.award_entry_id is not None:
            cause.reverse(
                state.award_entry_id,
                state.awarded_points,
                state.awarded_halves,
                "correction" if is_changed else "cap",
                volunteer_id=volunteer_id,
                activity_id=state.activity_id,
                attendance_id=state.attendance_id,
                entry_date=state.award_date,
                rule_version=None,
            )
        own_rule = rule_version(session, state.rule_version)
        points = r.attendance_points(
            own_rule, state.half_hours, state.weight_percent, state.cross_group
        )
        entry = cause.append(
            kind="award",
            reason_code="attendance",
            points=share,
            hours_halves=state.half_hours,
            explanation=r.award_explanation(
                points.formula, state.computed_points, share, rule.daily_cap
            ),
            volunteer_id=volunteer_id,
            activity_id=state.activity_id,
            attendance_id=state.attendance_id,
            entry_date=day,
            rule_version=state.rule_version,
        )
        book.awarded(state, entry, share, day)


def _cancel_no_shows(book: _Book, cause: _Cause, volunteer_id: str, activity_id: str) -> None:
    for state in book.penalties_on(volunteer_id, activity_id):
        cause.reverse(
            state.penalty_entry_id,
            -state.penalty_points,
            0,
            "no_show_cancelled",
            volunteer_id=volunteer_id,
            activity_id=activity_id,
            attendance_id=None,
            entry_date=state.activity_date,
        )
        book.penalty_cancelled(state)


def _record_no_show(session, book: _Book, writer: _Writer, event, payload) -> None:
    """One penalty per sign-up, none if the volunteer's attendance at that activity is confirmed
    (then or later: a later confirmation reverses the penalty)."""
    if payload["signup_id"] in book.no_shows:
        return
    state = book.no_show(payload)
    if book.attended(state.volunteer_id, state.activity_id):
        return
    cause = writer.cause(event.id, _event_time(event), event)
    rule = rule_for(session, state.activity_date, cause.occurred_at)
    if not rule.no_show_penalty:
        return
    entry = cause.append(
        kind="award",
        reason_code="no_show",
        points=-rule.no_show_penalty,
        explanation=f"报名后缺席 {r.format_points(-rule.no_show_penalty)}分",
        volunteer_id=state.volunteer_id,
        activity_id=state.activity_id,
        attendance_id=None,
        entry_date=state.activity_date,
        rule_version=rule.version,
    )
    book.penalized(state, entry, rule.no_show_penalty)


# ---- adjustments -------------------------------------------------------------------------


def volunteer_place(session: Session, volunteer_id: str) -> tuple[VolunteerView, str] | None:
    """A volunteer the ledger knows, with the path of their home unit."""
    row = session.execute(
        select(VolunteerView, UnitView.path)
        .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id, isouter=True)
        .where(VolunteerView.volunteer_id == volunteer_id)
    ).first()
    return (row[0], row[1] or "") if row else None


def request_adjustment(session: Session, who, body: dict, idempotency_key: str | None = None):
    """An administrator asks for a manual adjustment; it counts once another approves it."""
    if idempotency_key:
        known = session.scalar(
            select(Adjustment).where(
                Adjustment.requested_by == who.account_id,
                Adjustment.idempotency_key == idempotency_key,
            )
        )
        if known is not None:
            return known, False
    place = volunteer_place(session, body["volunteer_id"])
    if place is None:
        raise DomainError(
            "账本里没有这位志愿者",
            code="unknown-volunteer",
            errors={"volunteer_id": ["志愿者不存在"]},
            status=422,
        )
    _require_admin(who, place[1])
    adjustment = Adjustment(
        id=str(uuid.uuid4()),
        volunteer_id=body["volunteer_id"],
        points=body["points"],
        reason=body["reason"].strip(),
        entry_date=body.get("date") or today(),
        status="pending",
        requested_by=who.account_id,
        requested_at=utcnow(),
        idempotency_key=idempotency_key,
    )
    session.add(adjustment)
    session.flush()
    audit(
        session, who.account_id, "adjustment.requested", adjustment.id, adjustment_dict(adjustment)
    )
    return adjustment, True


def _require_admin(who, path: str) -> None:
    from services.common.auth import Forbidden

    if not who.can("admin", path):
        raise Forbidden("只有该志愿者所在单位的管理员可以调整积分", code="out-of-scope")


def approve_adjustment(session: Session, who, adjustment_id: str) -> Adjustment:
    """A second administrator approves an adjustment: its ledger row is written now."""
    from services.common.auth import Forbidden

    session.get(ChainHead, 1, with_for_update=True)  # the chain is always locked first
    adjustment = session.get(Adjustment, adjustment_id, with_for_update=True)
    if adjustment is None:
        raise NotFound("调整申请不存在", code="unknown-adjustment")
    place = volunteer_place(session, adjustment.volunteer_id)
    _require_admin(who, place[1] if place else "")
    if adjustment.requested_by == who.account_id:
        raise Forbidden("积分调整须由另一位管理员审批", code="second-admin-required")
    if adjustment.status != "pending":
        raise Conflict("这项调整已经审批过了", code="already-approved")
    now = utcnow()
    done = session.execute(
        update(Adjustment)
        .where(Adjustment.id == adjustment.id, Adjustment.status == "pending")
        .values(status="approved", approved_by=who.account_id, approved_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("这项调整已经审批过了", code="already-approved")
    session.refresh(adjustment)
    post_adjustment(session, adjustment)
    audit(
        session, who.account_id, "adjustment.approved", adjustment.id, adjustment_dict(adjustment)
    )
    return adjustment


def post_adjustment(session: Session, adjustment: Adjustment) -> _Row:
    """Write the ledger row of an approved adjustment (also used by the rebuild)."""
    writer = _Writer(session)
    cause = writer.cause(
        f"adjustment/{adjustment.id}",
        adjustment.approved_at,
        requested_by=adjustment.requested_by,
        approved_by=adjustment.approved_by,
    )
    entry = cause.append(
        kind="adjustment",
        reason_code="manual",
        points=adjustment.points,
        explanation=f"人工调整 {r.format_points(adjustment.points)}分：{adjustment.reason}",
        volunteer_id=adjustment.volunteer_id,
        activity_id=None,
        attendance_id=None,
        entry_date=adjustment.entry_date,
    )
    writer.flush()
    adjustment.entry_id = entry.entry_id
    return entry


def adjustment_dict(adjustment: Adjustment) -> dict:
    """An adjustment as the API shows it."""
    return {
        "id": adjustment.id,
        "volunteer_id": adjustment.volunteer_id,
        "points": adjustment.points,
        "reason": adjustment.reason,
        "date": adjustment.entry_date,
        "status": adjustment.status,
        "requested_by": adjustment.requested_by,
        "requested_at": adjustment.requested_at,
        "approved_by": adjustment.approved_by,
        "approved_at": adjustment.approved_at,
        "entry_id": adjustment.entry_id,
    }


def list_adjustments(session: Session, who, status: str | None, page: int, per_page: int):
    """Adjustments of volunteers within the caller's administrator scope."""
    paths = who.paths("admin")
    if not paths and not who.system:
        from services.common.auth import Forbidden

        raise Forbidden("只有管理员可以查看积分调整", code="admin-only")
    query = (
        select(Adjustment, VolunteerView.display_name)
        .join(VolunteerView, VolunteerView.volunteer_id == Adjustment.volunteer_id)
        .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id)
    )
    if not who.system:
        query = query.where(or_(*[UnitView.path.startswith(path) for path in paths]))
    if status:
        query = query.where(Adjustment.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(Adjustment.requested_at.desc(), Adjustment.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [{**adjustment_dict(a), "volunteer_name": name} for a, name in rows], total


# ---- reading -----------------------------------------------------------------------------


def shown_explanation(entry: LedgerEntry, title: str | None) -> str:
    """A row's explanation as people read it: "3月8日 邻里节 3.5小时 × 10 + 5 = 40分"."""
    parts = [r.date_label(entry.entry_date)]
    if entry.activity_id:
        parts.append(title or "活动")
    parts.append(entry.explanation)
    return " ".join(parts)


def volunteer_ledger(session: Session, volunteer_id: str, page: int, per_page: int) -> dict:
    """A volunteer's balance, confirmed hours, stars and one page of their rows, newest first."""
    balance, halves, total = session.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.points), 0),
            func.coalesce(func.sum(LedgerEntry.hours_halves), 0),
            func.count(),
        ).where(LedgerEntry.volunteer_id == volunteer_id)
    ).one()
    rows = session.execute(
        select(LedgerEntry, ActivityView.title)
        .join(ActivityView, ActivityView.activity_id == LedgerEntry.activity_id, isouter=True)
        .where(LedgerEntry.volunteer_id == volunteer_id)
        .order_by(LedgerEntry.seq.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    place = volunteer_place(session, volunteer_id)
    return {
        "volunteer_id": volunteer_id,
        "name": place[0].display_name if place else None,
        "balance": int(balance),
        "hours": r.format_hours(int(halves)),
        "stars": r.stars(int(halves), star_thresholds()),
        "entries": {
            "items": [
                {
                    "entry_id": e.entry_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "reason_code": e.reason_code,
                    "points": e.points,
                    "hours": r.format_signed_hours(e.hours_halves),
                    "date": e.entry_date,
                    "activity_id": e.activity_id,
                    "activity_title": title,
                    "explanation": shown_explanation(e, title),
                    "rule_version": e.rule_version,
                    "source_event_id": e.source_event_id,
                    "reverses_entry_id": e.reverses_entry_id,
                    "occurred_at": e.occurred_at,
                }
                for e, title in rows
            ],
            "total": int(total),
            "page": page,
            "per_page": per_page,
        },
    }


def standings(
    session: Session,
    *,
    path: str | None,
    team_id: str | None,
    start: date,
    end: date,
    page: int,
    per_page: int,
) -> tuple[list[dict], int]:
    """Balances per volunteer for a date range within a unit subtree and/or a team, ranked
    (ties share a rank, the next rank skips: 1, 2, 2, 4).

    Summed from the totals of a few whole years, months and days (``periods_between``: some
    added, some taken away again), never from the ledger rows. One statement gives the page, the number of volunteers ranked and,
    after the first page, how many of them are above it; the ranks follow from those.
    """
    totals = PointsTotal.__table__
    scope = []
    if path is not None:
        units = session.scalars(
            select(UnitView.unit_id).where(UnitView.path.startswith(path, autoescape=True))
        ).all()
        if not units:
            return [], 0
        scope.append(totals.c.home_unit_id.in_(units))
    if team_id is not None:
        scope.append(totals.c.team_id == team_id)
    if path is None and team_id is None:
        scope.append(totals.c.home_unit_id.is_not(None))  # volunteers the ledger knows
    signed = periods_between(start, end)
    added = [period for sign, period in signed if sign > 0]
    taken = [period for sign, period in signed if sign < 0]

    def summed(periods: list[int], name: str):
        """Each volunteer's points and rows over the periods (one period: no sums needed)."""
        where = [
            totals.c.period.in_(periods) if len(periods) > 1 else totals.c.period == periods[0]
        ]
        columns = (totals.c.volunteer_id, totals.c.points, totals.c.entries)
        if len(periods) == 1:
            return select(*columns).where(*where, *scope).subquery(name)
        return (
            select(
                totals.c.volunteer_id,
                func.sum(totals.c.points).label("points"),
                func.sum(totals.c.entries).label("entries"),
            )
            .where(*where, *scope)
            .group_by(totals.c.volunteer_id)
            .subquery(name)
        )

    plus = summed(added, "plus")
    if taken:  # a year or month less a few months or days: the fewer rows to sum
        minus = summed(taken, "minus")
        sums = (
            select(
                plus.c.volunteer_id,
                (plus.c.points - func.coalesce(minus.c.points, 0)).label("points"),
            )
            .join(minus, minus.c.volunteer_id == plus.c.volunteer_id, isouter=True)
            .where(plus.c.entries - func.coalesce(minus.c.entries, 0) > 0)  # rows left in range
            .cte("sums")
        )
    else:
        sums = select(plus.c.volunteer_id, plus.c.points).cte("sums")
    offset = (page - 1) * per_page
    shown = (
        select(sums.c.volunteer_id, sums.c.points)
        .order_by(sums.c.points.desc(), sums.c.volunteer_id)
        .offset(offset)
        .limit(per_page)
        .cte("shown")
    )
    above = literal(0)  # nobody is above the first row of the first page
    if page > 1:
        above = (
            select(func.count())
            .select_from(sums)
            .where(sums.c.points > select(func.max(shown.c.points)).scalar_subquery())
            .scalar_subquery()
        )
    if session.get_bind().dialect.name == "postgresql":
        # The volunteers' sums of a district are a few megabytes: sort them in memory.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = session.execute(
        select(
            shown.c.volunteer_id,
            VolunteerView.display_name,
            shown.c.points,
            select(func.count()).select_from(sums).scalar_subquery().label("total"),
            above.label("above"),
        )
        .join(VolunteerView, VolunteerView.volunteer_id == shown.c.volunteer_id, isouter=True)
        .order_by(shown.c.points.desc(), shown.c.volunteer_id)
    ).all()
    if rows:
        total = rows[0].total
    elif page > 1:
        total = session.scalar(select(func.count()).select_from(sums))
    else:
        total = 0
    items = []
    for number, row in enumerate(rows):
        if number == 0:
            rank = int(row.above) + 1
        elif row.points != rows[number - 1].points:
            rank = offset + number + 1  # everyone before this row has more points
        items.append(
            {
                "volunteer_id": row.volunteer_id,
                "name": row.display_name,
                "points": int(row.points),
                "rank": rank,
            }
        )
    return items, int(total)
