"""Alembic environment of services/ledger."""

from services.common.migrations_env import run
from services.ledger.awards import models as _awards  # noqa: F401 - its tables on Base
from services.ledger.models import Base

run(Base.metadata)
