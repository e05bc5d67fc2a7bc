"""marshmallow's own messages in Chinese, for every schema of the platform.

The platform speaks Chinese first: a field left out, a number out of range or a date in the
wrong form is answered in Chinese like every message we write (web translates them into English
through ``web/translations/en.po``). marshmallow reads these when a field or validator is made,
so this module is imported by ``events``, ``services`` and ``web`` before any schema exists.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

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


install()
