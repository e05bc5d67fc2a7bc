"""marshmallow's own messages in Chinese, for every schema of the platform.

The platform speaks Chinese first: a field left out, a number out of range or a date in the
wrong form is answered in Chinese like every message we write (web translates them into English
through ``web/translations/en.po``). marshmallow reads these when a field or validator is made,
so this module is imported by ``events``, ``services`` and ``web`` before any schema exists.

A message with values (``长度最多为 {max}``) is filled in as marshmallow fills it, but as a
``Message``: the filled Chinese text that also keeps its key (the catalog's msgid, the template
with ``{names}``) and its values, so that the meaning crosses to web and web shows it in the
page's language without reading the filled text back.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime
from decimal import Decimal

from marshmallow import Schema, fields, validate

PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Message(str):
    """A message as people read it in Chinese (the string itself), with its meaning: ``key``, the
    catalog's msgid (the Chinese template with ``{names}``), and ``values``, which fill it. A value
    that is itself words to translate (a status name, a reason given by the platform) is a
    ``Message`` too; any other value (a number, a date, a person's or unit's name) is shown as is.
    """

    key: str
    values: dict

    def __new__(cls, key: str, values: dict | None = None, *, text: str | None = None):
        values = dict(values or {})
        if text is None:
            text = key.format(**values) if values else key
        message = super().__new__(cls, text)
        message.key, message.values = str(key), values
        return message

    def __reduce__(self):  # copies and pickles keep the text, the key and the values
        return (_restore, (self.key, self.values, str(self)))

    def meaning(self) -> dict:
        """The JSON form: ``{"key": ..., "values": {...}}`` (nested messages likewise)."""
        return meaning(self)

    def meaning_json(self) -> str:
        """``meaning()`` as compact JSON, made once for a message (a message is a value: its
        key and values are not changed once it is made)."""
        made = self.__dict__.get("_json")
        if made is None:
            made = self._json = json.dumps(meaning(self), ensure_ascii=False, separators=(",", ":"))
        return made

    @classmethod
    def from_meaning(cls, found: dict, text: str | None = None) -> Message:
        """The message of a JSON meaning (``meaning()``'s form), nested values too."""
        values = {
            name: cls.from_meaning(value) if _is_meaning(value) else value
            for name, value in (found.get("values") or {}).items()
        }
        return cls(found["key"], values, text=text)


def _restore(key: str, values: dict, text: str) -> Message:
    return Message(key, values, text=text)


def _is_meaning(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("key"), str)


def _plain(value):
    if isinstance(value, Message):
        return meaning(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def meaning(text) -> dict:
    """``{"key", "values"}`` of a message: a ``Message``'s own, or a plain text as its own key."""
    if isinstance(text, Message):
        return {"key": text.key, "values": {k: _plain(v) for k, v in text.values.items()}}
    return {"key": str(text), "values": {}}


def meanings(errors):
    """Per-field messages (however deeply nested) with each message as its ``meaning``."""
    if isinstance(errors, dict):
        return {name: meanings(value) for name, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [meanings(item) for item in errors]
    return meaning(errors) if isinstance(errors, str) else errors


def with_meanings(errors, found):
    """``errors`` (plain texts, as they crossed HTTP) with each text a ``Message`` again, from the
    ``meanings`` of the same shape beside them."""
    if isinstance(errors, dict) and isinstance(found, dict):
        return {name: with_meanings(value, found.get(name)) for name, value in errors.items()}
    if isinstance(errors, list) and isinstance(found, list) and len(found) == len(errors):
        return [with_meanings(item, other) for item, other in zip(errors, found, strict=True)]
    if isinstance(errors, str) and _is_meaning(found):
        return Message.from_meaning(found, text=errors)
    return errors


def _remembering(format_error, sources):
    """Wrap a validator's ``_format_error`` so that its message is a ``Message``."""

    @functools.wraps(format_error)
    def wrapper(self, value, *message):
        filled = format_error(self, value, *message)
        template = self.error or (message[0] if message else None)
        if not isinstance(template, str):
            return filled
        known = {"input": value, **{name: get(self) for name, get in sources.items()}}
        names = [name for name in PLACEHOLDER.findall(template) if name in known]
        if not names:
            return filled
        found = Message(template, {name: _plain(known[name]) for name in names}, text=filled)
        return found if found.key.format(**found.values) == filled else filled

    wrapper.shiliu_remembers = True
    return wrapper


def _make_error_remembering(make_error):
    @functools.wraps(make_error)
    def wrapper(self, key, **kwargs):
        error = make_error(self, key, **kwargs)
        template = self.error_messages.get(key)
        if kwargs and isinstance(template, str) and PLACEHOLDER.search(template):
            names = PLACEHOLDER.findall(template)
            values = {name: _plain(kwargs[name]) for name in names if name in kwargs}
            error.messages = [Message(template, values, text=str(m)) for m in error.messages]
        return error

    wrapper.shiliu_remembers = True
    return wrapper


FIELDS = {
    fields.Field: {"required": "必填", "null": "不能为空", "validator_failed": "填写的值无效"},
    fields.Boolean: {"invalid": "须为是或否"},
    fields.Integer: {"invalid": "须为整数"},
    fields.Number: {"invalid": "须为数字", "too_large": "数字太大"},
    fields.Decimal: {"special": "须为数字"},
    fields.Float: {"special": "须为数字"},
    fields.String: {"invalid": "须为文字", "invalid_utf8": "须为文字"},
    fields.Date: {"invalid": "须为日期，例如 2026-03-08"},
    fields.DateTime: {
        "invalid": "须为日期和时间，例如 2026-03-08T09:00:00+08:00",
        "invalid_awareness": "须为带时区的日期和时间，例如 2026-03-08T09:00:00+08:00",
    },
    fields.List: {"invalid": "须为列表"},
    fields.Tuple: {"invalid": "须为列表"},
    fields.Mapping: {"invalid": "须为对象"},
    fields.Nested: {"type": "须为对象"},
    fields.UUID: {"invalid_uuid": "须为有效的编号"},
    fields.URL: {"invalid": "须为有效的网址"},
    fields.Email: {"invalid": "须为有效的电子邮箱"},
    fields.Enum: {"unknown": "须为以下之一：{choices}"},
}


def _braced(message: str) -> str:
    return message.replace("{", "{{").replace("}", "}}")


def install() -> None:
    """Put the Chinese messages in place (idempotent)."""
    for field, messages in FIELDS.items():
        field.default_error_messages = {**field.default_error_messages, **messages}
    Schema._default_error_messages = {"type": "须为对象", "unknown": "没有这个字段"}
    validate.Length.message_min = "长度至少为 {min}"
    validate.Length.message_max = "长度最多为 {max}"
    validate.Length.message_all = "长度须在 {min} 到 {max} 之间"
    validate.Length.message_equal = "长度须为 {equal}"
    # Range formats its messages once when it is made (to fill in "greater than" and the like:
    # every range here includes its bounds), so its bounds' braces are doubled for that.
    validate.Range.message_min = _braced("须不小于 {min}")
    validate.Range.message_max = _braced("须不大于 {max}")
    validate.Range.message_all = _braced("须在 {min} 到 {max} 之间")
    validate.OneOf.default_message = "须为以下之一：{choices}"
    validate.Regexp.default_message = "格式不对"
    validate.Equal.default_message = "须等于 {other}"
    bounds = {"min": lambda v: v.min, "max": lambda v: v.max}
    hooks = {
        validate.Length: {**bounds, "equal": lambda v: v.equal},
        validate.Range: bounds,
        validate.OneOf: {"choices": lambda v: v.choices_text, "labels": lambda v: v.labels_text},
        validate.Equal: {"other": lambda v: v.comparable},
    }
    for validator, sources in hooks.items():
        if not getattr(validator._format_error, "shiliu_remembers", False):
            validator._format_error = _remembering(validator._format_error, sources)
    if not getattr(fields.Field.make_error, "shiliu_remembers", False):
        fields.Field.make_error = _make_error_remembering(fields.Field.make_error)


install()
