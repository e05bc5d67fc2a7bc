"""Idempotency keys."""

from services.common import migrations as backbone

revision = "0002"
down_revision = "0001"

upgrade, downgrade = backbone.adding("idempotency_keys")
