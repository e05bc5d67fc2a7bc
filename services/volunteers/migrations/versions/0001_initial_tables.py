"""Initial tables."""

from services.common import migrations as backbone

revision = "0001"
down_revision = None

upgrade, downgrade = backbone.adding("unit_views", "consumed_events", "outbox")
