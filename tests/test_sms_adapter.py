"""The SMS adapter point (issue 18 item 10): a city plugs its own provider in by setting."""

from __future__ import annotations

import pytest

from events.settings import Settings
from web import sms


class Recorder:
    """A city's own SMS provider, as a test writes one: it keeps what it was asked to send."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        Recorder.sent.append((phone, text))


def test_the_sms_adapter_is_chosen_by_setting():
    assert Settings.from_env({}).sms_adapter == "log"
    assert Settings.from_env({"SHILIU_SMS_ADAPTER": "city.sms:Provider"}).sms_adapter == (
        "city.sms:Provider"
    )
    assert isinstance(sms.sender("log"), sms.LogSender)
    provider = sms.sender("test_sms_adapter:Recorder")
    provider.send("13900000000", "【石榴】密码重置验证码：ABCDE-FGHJK")
    assert Recorder.sent == [("13900000000", "【石榴】密码重置验证码：ABCDE-FGHJK")]
    for wrong in ("nope", "no.such.module:Sender", "test_sms_adapter:Nothing"):
        with pytest.raises(ValueError, match="SHILIU_SMS_ADAPTER"):
            sms.sender(wrong)
