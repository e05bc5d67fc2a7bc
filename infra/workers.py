"""Background workers of a service: its outbox relay and its consumer, run as threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from events.consumer import ConsumerRunner
from events.outbox import Relay
from infra.registry import Part
from services.common.app import ServiceContext


@dataclass
class Workers:
    """The relay and consumer threads of one or more services, stopped together."""

    stop: threading.Event = field(default_factory=threading.Event)
    relays: list[Relay] = field(default_factory=list)
    consumers: list[ConsumerRunner] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def add(
        self, part: Part, ctx: ServiceContext, relay: bool = True, consume: bool = True
    ) -> None:
        """Start the relay and/or consumer of one service."""
        if relay:
            self._start(Relay(part.name, ctx.session_factory, ctx.settings), f"relay-{part.name}")
        handlers = part.handlers()
        if consume and handlers:
            runner = ConsumerRunner(
                part.name,
                handlers,
                ctx.session_factory,
                ctx.settings,
                group_id=part.group_id(ctx.settings),
                reader_process=part.reader_process,
            )
            self._start(runner, f"consumer-{part.name}")
        scheduler = part.make_scheduler(ctx) if consume else None
        if scheduler is not None:
            self._start(scheduler, f"scheduler-{part.name}")

    def _start(self, worker, name: str) -> None:
        if isinstance(worker, (Relay, ConsumerRunner)):
            (self.relays if isinstance(worker, Relay) else self.consumers).append(worker)
        thread = threading.Thread(target=worker.run, args=(self.stop,), name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def shutdown(self, timeout: float = 15.0) -> None:
        """Ask every worker to stop and wait for them."""
        self.stop.set()
        for relay in self.relays:
            relay.wakeup.set()
        for thread in self.threads:
            thread.join(timeout)
