from events import messages as _messages  # noqa: F401  (marshmallow in Chinese before any schema)
