"""The event backbone: envelope, catalog, outbox, consumer runner."""

from events import messages as _messages  # noqa: F401  (marshmallow in Chinese before any schema)
