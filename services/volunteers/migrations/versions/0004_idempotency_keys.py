"""Idempotency keys."""

from services.common import migrations as backbone

revision = "0004"
down_revision = "0003"

upgrade, downgrade = backbone.adding("idempotency_keys")
