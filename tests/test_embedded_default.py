"""`make run` as people run it: nothing confirmed is lost across stops, crashes and broker deaths.

The embedded broker keeps nothing. These journeys run `shiliu dev` as its own process group on
its own data folder and broker port, confirm attendances through the API, stop it the ways people
and machines do (SIGKILL of the group, SIGTERM a moment after, SIGINT from a script that started
it in the background, the broker killed alone) and count the ledger's rows: every confirmation
earns exactly one award, never none and never two.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from backbone import wait_for
from sqlalchemy import create_engine, text

from infra.broker import free_port

BIN = Path(sys.executable).parent
NEIGHBOURS = 6
pytestmark = [pytest.mark.broker, pytest.mark.slow]


class Dev:
    """`shiliu dev` on a data folder of its own, started and stopped like a person would."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("SHILIU_")
        } | {
            "SHILIU_DATA_DIR": str(folder / "data"),
            "SHILIU_EMBEDDED_BROKER_PORT": str(free_port()),
            "SHILIU_DRAIN_SECONDS": "10",
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, sigint_ignored: bool = False) -> None:
        """Start it and wait until it is ready; ``sigint_ignored`` as a script's `cmd &` does."""
        self.starts += 1

        def detach():
            os.setsid()
            if sigint_ignored:
                signal.signal(signal.SIGINT, signal.SIG_IGN)

        with open(self.folder / f"dev-{self.starts}.log", "wb") as output:
            self.process = subprocess.Popen(
                [str(BIN / "shiliu"), "dev", "--port", str(self.port), "--no-history"],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=detach,
            )
        wait_for(self.ready, timeout=120, interval=0.5, message=f"shiliu dev start {self.starts}")

    def ready(self) -> bool:
        """Whether /readyz answers 200."""
        assert self.process.poll() is None, self.output()
        try:
            return requests.get(self.url + "/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, number: int, group: bool = False) -> int:
        """Send a signal (to the whole process group with ``group``) and wait for the end."""
        if group:
            os.killpg(self.process.pid, number)
        else:
            self.process.send_signal(number)
        status = self.process.wait(90)
        if number == signal.SIGKILL:
            # The broker dies with its parent; make sure before the next start takes its port.
            wait_for(lambda: self.broker_pids() == [], timeout=20, message="the broker to end")
        return status

    def broker_pids(self) -> list[str]:
        """The pids of this instance's embedded broker."""
        port = self.env["SHILIU_EMBEDDED_BROKER_PORT"]
        found = subprocess.run(
            ["pgrep", "-f", f"tansu.*:{port}"], capture_output=True, text=True
        ).stdout
        return found.split()

    def stop_readers(self) -> None:
        """SIGSTOP the consumers' reader processes (spawned children: the ledger's and the
        statistics'), so the ledger falls behind."""
        readers = subprocess.run(
            ["pgrep", "-P", str(self.process.pid), "-f", "spawn_main"],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert len(readers) == 2, readers
        for pid in readers:
            os.kill(int(pid), signal.SIGSTOP)

    def kill_broker(self) -> list[str]:
        """SIGKILL the embedded broker alone; return the pids killed."""
        pids = self.broker_pids()
        assert pids, "no embedded broker is running"
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        return pids

    def output(self) -> str:
        """What the latest start printed."""
        return (self.folder / f"dev-{self.starts}.log").read_text(errors="replace")

    def settled(self) -> bool:
        """Whether `shiliu reconcile` finds every committed event applied by its consumers."""
        checked = subprocess.run(
            [str(BIN / "shiliu"), "reconcile", "--settle", "0"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return checked.returncode == 0 and "0 missing, 0 in flight" in checked.stdout

    def awards(self) -> int:
        """Award rows in the ledger's own database."""
        engine = create_engine(f"sqlite:///{self.folder / 'data' / 'ledger.db'}")
        try:
            with engine.connect() as conn:
                return conn.scalar(text("SELECT count(*) FROM ledger_entries WHERE kind='award'"))
        finally:
            engine.dispose()

    def call(self, method: str, path: str, token: str | None = None, **kwargs):
        """One API request to the one base URL."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def token(self, username: str, password: str) -> str:
        """A bearer token."""
        answer = self.call(
            "POST", "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]


def _neighbours(dev: Dev) -> list[str]:
    """Register residents of 富春社区; return their volunteer ids."""
    units = {u["name"]: u for u in dev.call("GET", "/api/v1/units").json()["items"]}
    ids = []
    for n in range(NEIGHBOURS):
        phone = f"1370000{n:04d}"
        created = dev.call(
            "POST",
            "/api/v1/accounts",
            json={
                "phone": phone,
                "password": "neighbour2026",
                "name": f"邻居{n}",
                "home_unit_id": units["富春社区"]["id"],
            },
        )
        assert created.status_code == 201, created.text
        me = dev.call("GET", "/api/v1/me", dev.token(phone, "neighbour2026")).json()
        ids.append((me["id"], phone))
    return ids


def _confirm_batch(dev: Dev, neighbours: list, n: int) -> None:
    """An activity held today: every neighbour signs up, the organizer confirms their hour."""
    organizer = dev.token("organizer", "shiliu2026")
    community = dev.call("GET", "/api/v1/units").json()["items"]
    host = next(u for u in community if u["name"] == "富春社区")
    now = datetime.now(UTC).replace(microsecond=0)
    activity = dev.call(
        "POST",
        "/api/v1/activities",
        organizer,
        json={
            "title": f"停机演练{n}",
            "category": "festival",
            "dimensions": ["culture"],
            "host_unit_id": host["id"],
            "starts_at": (now + timedelta(minutes=20)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
        },
    )
    assert activity.status_code == 201, activity.text
    activity_id = activity.json()["id"]
    assert dev.call("POST", f"/api/v1/activities/{activity_id}/publish", organizer).ok
    for _volunteer_id, phone in neighbours:
        token = dev.token(phone, "neighbour2026")
        wait_for(
            lambda token=token: (
                dev.call(
                    "POST", f"/api/v1/activities/{activity_id}/signups", token, json={}
                ).status_code
                in (201, 409)
            ),
            timeout=60,
            message="the volunteers service to learn of the activity",
        )
    started = dev.call(
        "PATCH",
        f"/api/v1/activities/{activity_id}",
        organizer,
        json={"starts_at": (now - timedelta(minutes=1)).isoformat()},
    )
    assert started.status_code == 200, started.text
    entries = [
        {"volunteer_id": volunteer_id, "hours": 1, "reason": "纸质签到表"}
        for volunteer_id, _phone in neighbours
    ]

    def confirmed():
        answer = dev.call(
            "POST",
            f"/api/v1/activities/{activity_id}/attendance/confirm",
            organizer,
            json={"entries": entries, "no_shows": []},
        )
        return answer.status_code == 200

    wait_for(confirmed, timeout=60, message="the volunteers service to see the activity started")


def _every_award(dev: Dev, expected: int) -> None:
    """Every confirmation reached the ledger once: all awards are there, and once every
    consumer has applied every committed event (nothing more can arrive) there is no extra."""
    wait_for(lambda: dev.awards() >= expected, timeout=120, message=f"{expected} awards")
    wait_for(dev.settled, timeout=120, interval=0.5, message="every event to be applied")
    assert dev.awards() == expected


@pytest.fixture
def dev(tmp_path):
    """`shiliu dev` on a data folder of its own; whatever the test leaves running is killed."""
    made = Dev(tmp_path)
    yield made
    if made.process is not None and made.process.poll() is None:
        os.killpg(made.process.pid, signal.SIGKILL)
        made.process.wait(30)


def test_confirmations_survive_kills_stops_and_a_broker_death(dev):
    """Confirm a batch and stop at once, five ways; after each, every confirmation is in the
    ledger exactly once, and at the end `shiliu reconcile` reports nothing missing."""
    dev.start()
    neighbours = _neighbours(dev)
    batches = 0

    # 1. SIGKILL of the whole group 0.1 s after the confirmation answered, the ledger behind
    #    (its reader stopped, so none of the batch can have reached it before the kill).
    dev.stop_readers()
    _confirm_batch(dev, neighbours, 1)
    batches += 1
    time.sleep(0.1)
    assert dev.awards() == 0
    dev.stop(signal.SIGKILL, group=True)
    dev.start()
    _every_award(dev, NEIGHBOURS * batches)

    # 2. SIGTERM to the group a moment after: the clean stop drains before the broker goes.
    _confirm_batch(dev, neighbours, 2)
    batches += 1
    time.sleep(0.05)
    assert dev.stop(signal.SIGTERM, group=True) == 0
    assert "drained: every committed event is published and applied" in dev.output()
    assert dev.awards() == NEIGHBOURS * batches  # applied before the stop, not after the start
    dev.start(sigint_ignored=True)
    _every_award(dev, NEIGHBOURS * batches)

    # 3. The broker killed alone: started again, the relays publish again, readiness returns.
    killed = dev.kill_broker()
    wait_for(
        lambda: dev.broker_pids() and dev.broker_pids() != killed,
        timeout=60,
        message="the broker to be started again",
    )
    wait_for(
        lambda: "embedded broker and workers started again" in dev.output(),
        timeout=90,
        message="the workers to be started again",
    )
    wait_for(dev.ready, timeout=90, interval=0.5, message="readiness to return by itself")
    _confirm_batch(dev, neighbours, 3)
    batches += 1
    _every_award(dev, NEIGHBOURS * batches)

    # 4. The ledger behind (its reader stopped), SIGINT a second after the confirmation, from
    #    the script that started it in the background (SIGINT ignored there): the drain gives
    #    up after SHILIU_DRAIN_SECONDS, and the next start publishes everything again.
    dev.stop_readers()
    _confirm_batch(dev, neighbours, 4)
    batches += 1
    time.sleep(1)
    assert dev.stop(signal.SIGINT) == 0
    assert "not drained after 10 s" in dev.output()
    assert dev.awards() < NEIGHBOURS * batches
    dev.start()
    _every_award(dev, NEIGHBOURS * batches)

    # 5. Ctrl-C: drained, and nothing is missing anywhere.
    assert dev.stop(signal.SIGINT, group=True) == 0
    assert "drained: every committed event" in dev.output()
    assert dev.settled()
    assert dev.awards() == NEIGHBOURS * batches
