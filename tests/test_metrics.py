"""Prometheus metrics: outbox backlog and consumer lag, as the broker goes away and comes back."""

from __future__ import annotations

import pytest
from backbone import wait_for
from databases import migrate
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from events import kafka as kafka_clients
from events.consumer import ConsumerRunner
from events.outbox import Relay
from infra.broker import EmbeddedBroker, free_port
from infra.gateway import Gateway
from infra.registry import SERVICES, WEB
from services.activities import operations
from services.common.app import service_context


def scrape(client: Client, path: str = "/metrics") -> dict[str, dict]:
    """Return {metric name: {labels as a sorted tuple: value}} of one scrape."""
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def total(samples: dict, name: str, **labels) -> float | None:
    """Sum a metric's samples that carry these labels; None when there is none."""
    values = [
        value
        for key, value in samples.get(name, {}).items()
        if all((k, v) in key for k, v in labels.items())
    ]
    return sum(values) if values else None


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_outbox_backlog_and_consumer_lag_follow_the_broker_going_away_and_coming_back(
    make_settings, engine_name, tmp_path
):
    # This test stops its broker, so it gets one of its own rather than the session's.
    port = free_port()
    settings = make_settings(engine_name, bootstrap=f"127.0.0.1:{port}")
    own = EmbeddedBroker(settings, port=port, log_path=tmp_path / "broker.log").start()
    for name in ("activities", "volunteers"):
        migrate(name, settings.database_url(name))
    apps = {name: SERVICES[name].create_app(settings) for name in ("activities", "volunteers")}
    web = WEB.create_app(settings)
    for app in [*apps.values(), web]:
        app.config["SHILIU_METRICS_CACHE_SECONDS"] = 0
    gateway = Client(Gateway(apps, web))
    activities = service_context(apps["activities"])
    volunteers = SERVICES["volunteers"]
    relay = runner = None
    units_topic = settings.topic("shiliu.units")
    try:
        # All quiet: nothing waits in the outbox, nothing waits for the volunteers' consumer.
        first = scrape(gateway, "/metrics/volunteers")
        assert total(first, "shiliu_broker_up") == 1
        assert total(first, "shiliu_consumer_lag", topic=units_topic) == 0
        assert total(first, "shiliu_consumer_lag", group=volunteers.group_id(settings)) == 0
        assert total(scrape(gateway, "/metrics/activities"), "shiliu_outbox_backlog") == 0

        # The broker goes away while organizers keep working: the outbox holds their events.
        own.stop()
        with activities.session_factory() as session, session.begin():
            for slug in ("nb", "wz", "hz"):
                operations.create_unit(session, name=slug, kind="city", slug=slug)
        down = wait_for(
            lambda: (
                (m := scrape(gateway, "/metrics/volunteers"))["shiliu_broker_up"]
                and total(m, "shiliu_broker_up") == 0
                and m
            ),
            message="the broker to be reported down",
        )
        assert total(down, "shiliu_consumer_lag") is None, "no lag is made up while it is down"
        assert total(scrape(gateway, "/metrics/activities"), "shiliu_outbox_backlog") == 3

        # It comes back (empty: the launcher recreates the topics) and the relay drains the
        # outbox one record per batch, so the embedded broker's end offsets count them all.
        own.start()
        wait_for(
            lambda: total(scrape(gateway, "/metrics/volunteers"), "shiliu_broker_up") == 1,
            message="the broker to be reported up",
        )
        relay = Relay("activities", activities.session_factory, settings, batch_size=1)
        assert [relay.publish_pending() for _ in range(3)] == [1, 1, 1]
        assert total(scrape(gateway, "/metrics/activities"), "shiliu_outbox_backlog") == 0
        assert total(scrape(gateway, "/metrics/volunteers"), "shiliu_consumer_lag") == 3

        # The volunteers' consumer catches up: the lag is gone.
        runner = ConsumerRunner(
            "volunteers",
            volunteers.handlers(),
            service_context(apps["volunteers"]).session_factory,
            settings,
            group_id=volunteers.group_id(settings),
        )
        kafka_clients.wait_for_assignment(runner._ensure_consumer())
        applied = []
        wait_for(
            lambda: applied.append(runner.poll_once(timeout_ms=500)) or sum(applied) >= 3,
            timeout=60,
            message="the consumer to apply the three units",
        )
        wait_for(
            lambda: total(scrape(gateway, "/metrics/volunteers"), "shiliu_consumer_lag") == 0,
            message="the lag to reach zero",
        )
    finally:
        if relay is not None:
            relay.close()
        if runner is not None:
            runner.close()
        own.stop()
        for app in [*apps.values(), web]:
            service_context(app).engine.dispose()


def test_metrics_keep_answering_when_the_broker_was_never_there(make_settings):
    settings = make_settings("sqlite", bootstrap=f"127.0.0.1:{free_port()}")  # nobody listens
    migrate("ledger", settings.database_url("ledger"))
    app = SERVICES["ledger"].create_app(settings)
    try:
        samples = scrape(Client(app))
        assert total(samples, "shiliu_broker_up") == 0
        assert total(samples, "shiliu_database_up") == 1
        assert total(samples, "shiliu_outbox_backlog", service="ledger") == 0
        assert total(samples, "shiliu_consumer_lag") is None
    finally:
        service_context(app).engine.dispose()
