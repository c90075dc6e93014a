"""Subscribe message fields fit WeChat's limits by type, and their settings are refused when wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from config import ConfigurationError, load_settings
from models import MessageKind
from services.notifications.message_fields import Fen, Measure, data_of, field_value, prefix_of
from services.notifications.message_settings import SubscribeSettings, parse_fields


@pytest.mark.parametrize(
    ("prefix", "value", "expected"),
    [
        ("thing", "短标题", "短标题"),
        ("thing", "一" * 20, "一" * 20),
        ("thing", "一" * 21, "一" * 19 + "…"),
        ("thing", "a\nb\tc", "abc"),
        ("thing", "", "-"),
        ("number", Measure(Decimal("30.000"), "千克"), "30"),
        ("number", Measure(Decimal("2.5"), "千克"), "2.5"),
        ("number", Measure(120, "积分"), "120"),
        ("thing", Measure(Decimal("2.5"), "千克"), "2.5千克"),
        ("number", "约 1,234.5 kg", "1234.5"),
        ("number", "9" * 40, "9" * 32),
        ("amount", Fen(12_345), "¥123.45"),
        ("amount", Fen(5), "¥0.05"),
        ("thing", Fen(100), "1.00元"),
        ("character_string", "CN-2026-000123", "CN-2026-000123"),
        ("character_string", "订单 NO.12", "NO.12"),
        ("character_string", "A" * 40, "A" * 32),
        ("time", datetime(2026, 12, 4, 16, 30, tzinfo=UTC), "2026年12月5日 00:30"),  # Beijing
        ("date", datetime(2026, 12, 4, 16, 30, tzinfo=UTC), "2026年12月5日"),
        ("date", date(2027, 1, 3), "2027年1月3日"),
        ("phrase", "已完成 done", "已完成"),
        ("phrase", "碳中和已经完成了", "碳中和已经"),
        ("phrase", "ok", "无"),
        ("name", "欧阳" * 6, "欧阳" * 4 + "欧…"),
        ("name", "Alexander Hamilton Smith", "Alexander Hamilton …"),
        ("letter", "abc123", "abc"),
        ("symbol", "!!!!!!!", "!!!!!"),
        ("phone_number", "+86-0591-87654321-999", "+86-0591-87654321"),
        ("car_number", "闽A12345挂X", "闽A12345挂"[:8]),
    ],
)
def test_each_value_is_written_and_cut_to_its_type(prefix, value, expected):
    assert field_value(prefix, value) == expected


def test_the_data_names_each_key_with_its_value():
    data = data_of((("thing1", "note"), ("amount2", "amount")), {"note": "退款已完成", "amount": Fen(990)})
    assert data == {"thing1": {"value": "退款已完成"}, "amount2": {"value": "¥9.90"}}


@pytest.mark.parametrize("key", ["thing1", "thing01", "character_string12", "phone_number3", "time4"])
def test_wechat_keys_are_known_by_prefix(key):
    assert prefix_of(key) is not None


@pytest.mark.parametrize("key", ["things1", "thing", "thing123", "Thing1", "enum1", "thing1 "])
def test_other_keys_are_not(key):
    assert prefix_of(key) is None


@pytest.mark.parametrize(
    "text",
    [
        "thing1=nope",  # not a value of the kind
        "thing1",  # no value
        "thingy1=note",  # not a WeChat key
        "thing1=note,thing1=number",  # a key twice
        "",
    ],
)
def test_a_field_setting_that_cannot_work_is_refused(text):
    with pytest.raises(ConfigurationError, match="SUBSCRIBE_FIELDS_CERTIFICATE_ISSUED"):
        parse_fields(MessageKind.CERTIFICATE_ISSUED, "SUBSCRIBE_FIELDS_CERTIFICATE_ISSUED", text)


def test_every_default_field_setting_is_valid_and_kinds_without_a_template_are_off():
    settings = load_settings(
        "testing", environ={}, overrides={"SUBSCRIBE_TEMPLATE_REFUND_DONE": "tpl-refund"}
    )
    for kind in MessageKind:
        name = f"SUBSCRIBE_FIELDS_{kind.value.upper()}"
        assert parse_fields(kind, name, settings[name])
    subscribe = SubscribeSettings.from_config(settings)
    assert list(subscribe.templates) == [MessageKind.REFUND_DONE]
    assert subscribe.templates[MessageKind.REFUND_DONE].page == "pages/orders/detail"
    assert subscribe.template_ids() == {"tpl-refund"}
    assert subscribe.wechat is None  # the sandbox login: nothing is sent


def test_only_real_credentials_and_logins_send():
    base = {"SUBSCRIBE_TEMPLATE_REFUND_DONE": "tpl", "WECHAT_APPID": "wx1", "WECHAT_SECRET": "s"}
    sandbox = load_settings("testing", environ={}, overrides=base)
    real = load_settings("testing", environ={}, overrides={**base, "WECHAT_SANDBOX_LOGIN": False})
    assert SubscribeSettings.from_config(sandbox).wechat is None
    assert SubscribeSettings.from_config(real).wechat is not None


def test_a_bad_field_setting_refuses_the_start(sqlite_url):
    from api import create_app

    with pytest.raises(ConfigurationError, match="SUBSCRIBE_FIELDS_REFUND_DONE"):
        create_app(
            "testing",
            overrides={
                "DATABASE_URL": sqlite_url,
                "SUBSCRIBE_TEMPLATE_REFUND_DONE": "tpl",
                "SUBSCRIBE_FIELDS_REFUND_DONE": "thing1=holder_name",
            },
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [("SUBSCRIBE_MINIPROGRAM_STATE", "release"), ("SUBSCRIBE_SEND_ATTEMPTS", "0")],
)
def test_settings_out_of_range_are_refused(name, value):
    with pytest.raises(ConfigurationError, match=name):
        load_settings("testing", environ={name: value})
