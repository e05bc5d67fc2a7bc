"""What services/activities does with each event it consumes: nothing yet; it only publishes."""

from __future__ import annotations

HANDLERS: dict = {}
