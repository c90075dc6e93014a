"""The gateway facade: which provider the settings build, and how it retries."""

from __future__ import annotations

import datetime as dt

import pytest

from config import ConfigurationError, load_settings
from payments import GatewayError, PaymentError, PrepayRequest, RefundRequest, build_provider
from payments.gateway import RetryingProvider, RetryPolicy
from payments.protocol import json_ack
from tests.support.settings import PRODUCTION_ENV


class Flaky:
    """A provider whose calls fail with the given errors, in order, then succeed."""

    name = "flaky"

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def _call(self, result: object) -> object:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return result

    def query(self, out_trade_no):
        return self._call(f"state of {out_trade_no}")

    def refund(self, request):
        return self._call(request.out_refund_no)

    def callback_ack(self, ok, message=""):
        return json_ack(ok, message)


def retrying(provider: Flaky, attempts: int = 3) -> tuple[RetryingProvider, list[float]]:
    sleeps: list[float] = []
    return RetryingProvider(
        provider, RetryPolicy(attempts=attempts, backoff_s=0.2), sleep=sleeps.append
    ), sleeps


def test_gateway_errors_are_retried_with_doubling_waits():
    flaky = Flaky(GatewayError("down"), GatewayError("down"))
    provider, sleeps = retrying(flaky)
    assert provider.query("ORDER0001") == "state of ORDER0001"
    assert flaky.calls == 3
    assert sleeps == [0.2, 0.4]


def test_retries_are_bounded():
    flaky = Flaky(*[GatewayError("down")] * 5)
    provider, sleeps = retrying(flaky, attempts=3)
    with pytest.raises(GatewayError):
        provider.query("ORDER0001")
    assert flaky.calls == 3
    assert len(sleeps) == 2


def test_payment_errors_are_not_retried():
    flaky = Flaky(PaymentError("refused"))
    provider, sleeps = retrying(flaky)
    with pytest.raises(PaymentError):
        provider.refund(RefundRequest("ORDER0001", "REFUND0001", 1, 1, "", "https://x.example/r"))
    assert (flaky.calls, sleeps) == (1, [])


def test_waits_are_capped():
    assert RetryPolicy(backoff_s=1.0, max_backoff_s=2.0).delay(5) == 2.0


def test_callback_answers_are_not_retried_but_passed_through():
    provider, _ = retrying(Flaky())
    body, status, content_type = provider.callback_ack(False, "amount differs")
    assert status == 400 and b"FAIL" in body and content_type == "application/json"
    assert provider.callback_ack(True).status == 200


def test_unknown_provider_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="PAYMENT_PROVIDER"):
        build_provider({"PAYMENT_PROVIDER": "alipay"})


def test_missing_settings_are_named():
    with pytest.raises(ConfigurationError) as info:
        build_provider({"PAYMENT_PROVIDER": "wechatpay_v3", "WECHAT_APPID": "wx1"})
    for name in (
        "WECHATPAY_MCHID",
        "WECHATPAY_APIV3_KEY",
        "WECHATPAY_CERT_SERIAL",
        "WECHATPAY_PRIVATE_KEY_PATH",
    ):
        assert name in str(info.value)


def test_unreadable_key_file_is_a_configuration_error(tmp_path):
    settings = {
        "PAYMENT_PROVIDER": "wechatpay_v3",
        "WECHAT_APPID": "wx1",
        "WECHATPAY_MCHID": "1900000109",
        "WECHATPAY_APIV3_KEY": "k" * 32,
        "WECHATPAY_CERT_SERIAL": "ABC",
        "WECHATPAY_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem"),
    }
    with pytest.raises(ConfigurationError, match="WECHATPAY_PRIVATE_KEY_PATH"):
        build_provider(settings)
    (tmp_path / "missing.pem").write_text("not a key")
    with pytest.raises(ConfigurationError, match="wechatpay_v3"):
        build_provider(settings)


def test_v2_sign_type_must_be_known():
    settings = {
        "PAYMENT_PROVIDER": "wechatpay_v2",
        "WECHAT_APPID": "wx1",
        "WECHATPAY_MCHID": "1",
        "WECHATPAY_API_KEY": "k",
    }
    with pytest.raises(ConfigurationError, match="sign_type"):
        build_provider(settings | {"WECHATPAY_SIGN_TYPE": "SHA1"})


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": 0},
        {"amount_fen": 1.5},
        {"amount_fen": True},
        {"out_trade_no": "short"},
        {"out_trade_no": "has space 0001"},
        {"time_expire": dt.datetime(2030, 1, 1)},
        {"payer_openid": ""},
    ],
)
def test_a_malformed_prepay_request_is_a_programming_error(change):
    fields = {
        "out_trade_no": "ORDER0001",
        "description": "一元碳汇",
        "amount_fen": 100,
        "payer_openid": "openid",
        "time_expire": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        "notify_url": "https://x.example/notify",
    } | change
    with pytest.raises(ValueError):
        PrepayRequest(**fields)


def test_a_refund_above_the_total_is_refused_before_any_call():
    with pytest.raises(ValueError):
        RefundRequest("ORDER0001", "REFUND0001", 101, 100, "", "https://x.example/r")


PRODUCTION = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("PAYMENT_PROVIDER", "WECHATPAY_API_KEY")}


def test_production_refuses_half_a_v3_public_key_setting():
    env = PRODUCTION | {
        "PAYMENT_PROVIDER": "wechatpay_v3",
        "WECHATPAY_APIV3_KEY": "k" * 32,
        "WECHATPAY_CERT_SERIAL": "ABC",
        "WECHATPAY_PRIVATE_KEY_PATH": "apiclient_key.pem",
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0001",
    }
    with pytest.raises(ConfigurationError, match="WECHATPAY_PUBLIC_KEY_PATH"):
        load_settings("production", environ=env)
    env["WECHATPAY_PUBLIC_KEY_PATH"] = "wechatpay_public_key.pem"
    assert load_settings("production", environ=env)["WECHATPAY_PUBLIC_KEY_ID"] == "PUB_KEY_ID_0001"


def test_production_refuses_an_unknown_v2_sign_type():
    env = PRODUCTION | {"PAYMENT_PROVIDER": "wechatpay_v2", "WECHATPAY_API_KEY": "k" * 32}
    with pytest.raises(ConfigurationError, match="WECHATPAY_SIGN_TYPE"):
        load_settings("production", environ=env | {"WECHATPAY_SIGN_TYPE": "SHA1"})
    assert load_settings("production", environ=env | {"WECHATPAY_SIGN_TYPE": "HMAC-SHA256"})
