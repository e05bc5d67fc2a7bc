"""What the benchmark tests share: the session broker in the environment a benchmark reads, and
the check that a benchmark leaves no temporary folder behind."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path


def on_session_broker(monkeypatch, broker: str) -> None:
    """Point a benchmark (it reads the environment, as `shiliu bench` does) at the session
    broker. The session broker is the embedded one: its short group timeouts, as the other tests
    use."""
    monkeypatch.setenv("SHILIU_KAFKA_BOOTSTRAP", broker)
    monkeypatch.setenv("SHILIU_KAFKA_SESSION_TIMEOUT_MS", "6000")
    monkeypatch.setenv("SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS", "1000")


@contextmanager
def cleaned_up(pattern: str):
    """Fail unless what runs inside removes every temporary folder matching ``pattern`` it
    made (a benchmark works in a folder of its own and must not leave it)."""

    def folders() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob(pattern))

    before = folders()
    yield
    assert folders() == before
