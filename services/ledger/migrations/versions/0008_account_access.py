"""Account access: the newest access version learnt of each account (tokens older are void)."""

from services.common import migrations as backbone

revision = "0008"
down_revision = "0007"

upgrade, downgrade = backbone.adding("account_access")
