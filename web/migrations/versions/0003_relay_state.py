"""Relay state: the broker the outbox was last published to."""

from services.common import migrations as backbone

revision = "0003"
down_revision = "0002"

upgrade, downgrade = backbone.adding("relay_state")
