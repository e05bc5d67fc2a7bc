"""Settings every Shiliu process shares, read from the environment (``SHILIU_*``)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

SERVICES = ("activities", "volunteers", "ledger", "notifications", "statistics", "web")
EMBEDDED_BOOTSTRAP = "127.0.0.1:9092"


def _int(env: dict, name: str, default: int | None) -> int | None:
    value = env.get(name)
    return int(value) if value not in (None, "") else default


MIN_SECRET_BYTES = 32
# Keys that are public (the development default, the compose example): never good in production.
KNOWN_SECRETS = (
    "development-only-secret-never-use-in-production",
    "change-me-to-a-long-random-string",
)


def require_strong_secret(secret: str | None) -> None:
    """Refuse to run production with a missing, short or published SHILIU_SECRET_KEY."""
    if not secret or secret in KNOWN_SECRETS or len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(
            f"SHILIU_SECRET_KEY must be set in production to a random value of "
            f"{MIN_SECRET_BYTES} bytes or more (it signs sessions and tokens), e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


TIMEZONE_VARIABLE, DEFAULT_TIMEZONE = "SHILIU_TIMEZONE", "Asia/Shanghai"


@functools.cache
def city_zone() -> ZoneInfo:
    """The city's time zone (``SHILIU_TIMEZONE``, as ``Settings.timezone``): what organizers
    type and volunteers read, and the calendar the services count days in (the ledger's today,
    the volunteers service's local dates). One per process, read once."""
    return ZoneInfo(os.environ.get(TIMEZONE_VARIABLE, DEFAULT_TIMEZONE))


STAR_HOURS_VARIABLE = "SHILIU_LEDGER_STAR_HOURS"
DEFAULT_STAR_HOURS = (100, 300, 600, 1000, 1500)


def star_hours(raw: str) -> tuple[int, ...]:
    """The ledger's star thresholds in whole hours from ``SHILIU_LEDGER_STAR_HOURS`` (comma-
    separated, 1 to 5 increasing numbers; empty: ``DEFAULT_STAR_HOURS``)."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_STAR_HOURS
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise RuntimeError(
            f"{STAR_HOURS_VARIABLE} must be comma-separated whole hours: {raw!r}"
        ) from exc
    if not values or list(values) != sorted(values) or len(values) > 5:
        raise RuntimeError(f"{STAR_HOURS_VARIABLE} must be 1 to 5 increasing numbers: {raw!r}")
    return values


@dataclass(frozen=True)
class Settings:
    """Where the data lives, which broker to use, and how to log."""

    env: str = "development"
    data_dir: Path = Path("data")
    kafka_bootstrap: str = EMBEDDED_BOOTSTRAP
    embedded_broker: bool = True
    topic_prefix: str = ""
    topic_partitions: int = 3
    database_urls: dict[str, str] = field(default_factory=dict)
    session_timeout_ms: int | None = 6000
    heartbeat_interval_ms: int | None = 1000
    max_poll_interval_ms: int | None = 60000
    log_format: str = "console"
    secret_key: str = "development-only-secret-never-use-in-production"
    trusted_proxies: int = 0
    timezone: str = "Asia/Shanghai"
    drain_seconds: float = 30.0  # how long a clean stop of `shiliu dev` waits for the backbone
    # Where web calls each service when they run in other processes (the gateway by default).
    service_urls: dict[str, str] = field(default_factory=dict)
    # Where the services call web (SHILIU_WEB_URL): the notifications worker, for a phone number.
    web_url: str = "http://127.0.0.1:8000"
    fault: str = ""  # SHILIU_FAULT: fault injection for crash tests (events/consumer.py)
    sms_adapter: str = "log"  # web/sms.py: `log` (development) or a provider's `module:Class`
    # services/notifications/channels.py: the outside channel, `log` or a provider's `module:Class`
    notify_adapter: str = "log"
    # The ledger's volunteer stars: the cumulative confirmed hours at which each is earned.
    star_hours: tuple[int, ...] = DEFAULT_STAR_HOURS
    # The one base URL as people reach it (SHILIU_PUBLIC_URL): what printed documents point to.
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Read settings from environment variables, then apply overrides."""
        env = dict(os.environ if env is None else env)
        mode = env.get("SHILIU_ENV", "development")
        bootstrap = env.get("SHILIU_KAFKA_BOOTSTRAP", "").strip()
        data_dir = Path(env.get("SHILIU_DATA_DIR", "data"))
        urls = {
            name: env.get(f"SHILIU_{name.upper()}_DATABASE_URL")
            or f"sqlite:///{(data_dir / f'{name}.db').resolve()}"
            for name in SERVICES
        }
        if mode == "production":
            require_strong_secret(env.get("SHILIU_SECRET_KEY"))
        # The embedded broker needs short group timeouts to settle in seconds; a real
        # Kafka cluster keeps the client defaults unless the operator says otherwise.
        short = not bootstrap
        settings = cls(
            env=mode,
            data_dir=data_dir,
            kafka_bootstrap=bootstrap
            or f"127.0.0.1:{env.get('SHILIU_EMBEDDED_BROKER_PORT', '9092')}",
            embedded_broker=not bootstrap,
            topic_prefix=env.get("SHILIU_TOPIC_PREFIX", ""),
            topic_partitions=_int(env, "SHILIU_TOPIC_PARTITIONS", 3),
            database_urls=urls,
            session_timeout_ms=_int(
                env, "SHILIU_KAFKA_SESSION_TIMEOUT_MS", 6000 if short else None
            ),
            heartbeat_interval_ms=_int(
                env, "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS", 1000 if short else None
            ),
            max_poll_interval_ms=_int(
                env, "SHILIU_KAFKA_MAX_POLL_INTERVAL_MS", 60000 if short else None
            ),
            log_format=env.get("SHILIU_LOG_FORMAT", "json" if mode == "production" else "console"),
            secret_key=env.get("SHILIU_SECRET_KEY", cls.secret_key),
            trusted_proxies=_int(env, "SHILIU_TRUSTED_PROXIES", 0),
            timezone=env.get(TIMEZONE_VARIABLE, DEFAULT_TIMEZONE),
            drain_seconds=float(env.get("SHILIU_DRAIN_SECONDS", "30")),
            service_urls={
                name: env.get(f"SHILIU_{name.upper()}_URL", "http://127.0.0.1:8000").rstrip("/")
                for name in ("activities", "volunteers", "ledger", "notifications", "statistics")
            },
            web_url=env.get("SHILIU_WEB_URL", "http://127.0.0.1:8000").rstrip("/"),
            fault=env.get("SHILIU_FAULT", ""),
            sms_adapter=env.get("SHILIU_SMS_ADAPTER", "").strip() or "log",
            notify_adapter=env.get("SHILIU_NOTIFY_ADAPTER", "").strip() or "log",
            star_hours=star_hours(env.get(STAR_HOURS_VARIABLE, "")),
            public_url=(env.get("SHILIU_PUBLIC_URL", "").strip() or cls.public_url).rstrip("/"),
        )
        return replace(settings, **overrides) if overrides else settings

    def database_url(self, service: str) -> str:
        """Return the database URL of one service."""
        return self.database_urls[service]

    def topic(self, logical: str) -> str:
        """Return the broker-level name of a logical topic (prefixed for isolated test runs)."""
        return f"{self.topic_prefix}{logical}"

    def logical_topic(self, physical: str) -> str:
        """Return the logical topic name of a broker-level one."""
        if self.topic_prefix and physical.startswith(self.topic_prefix):
            return physical[len(self.topic_prefix) :]
        return physical
