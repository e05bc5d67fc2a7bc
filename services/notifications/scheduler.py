"""The notifications worker's clock: every few seconds it sends the reminders that are due and
tries the outside deliveries that are due. Any number of workers may run it (each row is claimed
before it is sent)."""

from __future__ import annotations

import threading

import structlog

from events.settings import Settings
from services.notifications import channels, reminders

log = structlog.get_logger(__name__)

EVERY_SECONDS = 5.0
BATCH = 1000  # reminders claimed and told in one transaction


class Scheduler:
    """Runs ``tick`` until stopped."""

    def __init__(self, session_factory, settings: Settings, adapter=None, phones=None):
        self.session_factory = session_factory
        self.adapter = adapter or channels.make_adapter(settings.notify_adapter)
        self.phones = phones or channels.PhoneBook(settings)

    def tick(self, now=None) -> tuple[int, int]:
        """Send what is due at ``now``: (reminders sent, deliveries sent)."""
        sent = 0
        while batch := reminders.send_due(self.session_factory, now, BATCH):
            sent += batch  # a city-wide evening goes out at once, a batch at a time
            if batch < BATCH:
                break
        return sent, channels.deliver_due(self.session_factory, self.adapter, self.phones, now)

    def run(self, stop: threading.Event) -> None:
        """Tick every ``EVERY_SECONDS`` until ``stop`` is set; an error is logged and retried."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.exception("notifications.scheduler_failed")
            stop.wait(EVERY_SECONDS)
