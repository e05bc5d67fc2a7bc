"""Idempotency keys."""

from services.common import migrations as backbone

revision = "0003"
down_revision = "0002"

upgrade, downgrade = backbone.adding("idempotency_keys")
