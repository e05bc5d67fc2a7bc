"""Points for attendance: confirmed and corrected hours, daily caps, no-shows."""

from __future__ import annotations

import contextlib
import functools
import json
from collections import defaultdict
from datetime import date
from types import SimpleNamespace

from sqlalchemy import (
    String,
    and_,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from events.driver import driver_statement
from events.envelope import Event
from events.messages import Message
from services.ledger import rules as r
from services.ledger.models import (
    AttendanceState,
    LedgerEntry,
    NoShowState,
)
from services.ledger.operations.chain import (
    _Cause,
    _event_time,
    _Row,
    _Writer,
    version_key,
)
from services.ledger.operations.rules import rule_for, rule_version

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


@contextlib.contextmanager
def custom_plans(session: Session):
    """PostgreSQL: the statements of the block planned for their own keys each time they run.

    psycopg prepares a statement on its fifth run, and PostgreSQL may then run it with a generic
    plan, made for any keys: for a poll's look-ups by attendance id, a sequential scan comparing
    each row with each of 400 ids, which a ledger that started empty kept through a burst of
    events (600 events/s instead of 3,500 on a fresh database). Planning a poll's few look-ups
    each time costs nothing beside that; planning every statement of every connection each time
    (the setting for the whole connection) halves the check-ins per second."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))


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
        with custom_plans(session):
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
                driver_statement(upsert, connection.dialect).many(connection, values)


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
    computed = _points(session, rule, halves, weight, cross).points
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
        entry = cause.append(
            kind="award",
            reason_code="attendance",
            points=share,
            hours_halves=state.half_hours,
            explanation=_award_explanation(session, state, share, rule.daily_cap),
            volunteer_id=volunteer_id,
            activity_id=state.activity_id,
            attendance_id=state.attendance_id,
            entry_date=day,
            rule_version=state.rule_version,
        )
        book.awarded(state, entry, share, day)


def _points(session, rule, halves: int, weight: int, cross: bool) -> r.AttendancePoints:
    """``rules.attendance_points``, computed once in a session for each rule version, hours,
    weight and bonus (a rule version never changes, and a poll's events repeat a few of them)."""
    memo = session.info.setdefault("ledger_points", {})
    key = (rule.version, halves, weight, cross)
    found = memo.get(key)
    if found is None:
        found = memo[key] = r.attendance_points(rule, halves, weight, cross)
    return found


def _award_explanation(session, state: _State, share: int, cap: int) -> Message:
    """The explanation of an attendance's award, by the attendance's own rule version, made
    once in a session for each (points, share, cap): the same ``Message``, so that its JSON is
    made once too (``Message.meaning_json``)."""
    memo = session.info.setdefault("ledger_explanations", {})
    key = (state.rule_version, state.half_hours, state.weight_percent, state.cross_group)
    key += (state.computed_points, share, cap)
    found = memo.get(key)
    if found is None:
        rule = rule_version(session, state.rule_version)
        points = _points(session, rule, state.half_hours, state.weight_percent, state.cross_group)
        found = memo[key] = r.award_explanation(points.formula, state.computed_points, share, cap)
    return found


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
        explanation=Message(r.NO_SHOW, {"points": r.format_points(-rule.no_show_penalty)}),
        volunteer_id=state.volunteer_id,
        activity_id=state.activity_id,
        attendance_id=None,
        entry_date=state.activity_date,
        rule_version=rule.version,
    )
    book.penalized(state, entry, rule.no_show_penalty)
