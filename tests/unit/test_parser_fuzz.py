"""Property tests of the parsers of outside input: anything either parses or is refused with the
project's own error (ValidationFailed, Unauthenticated, PaymentError), never a TypeError,
ValueError, IndexError, UnicodeDecodeError, RecursionError, csv.Error or the like.

The parsers: the attendee list of an event, WeChat Pay's trade bill, the partner-signature
headers, and the payment callbacks of the sandbox and of WeChat Pay APIv2 and APIv3 (unsigned
garbage, and messages correctly signed whose content is garbage).
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments import build_provider
from payments.errors import GatewayError, PaymentError
from payments.interface import PrepayRequest
from payments.sandbox import SandboxProvider
from services.kernel.errors import Unauthenticated, ValidationFailed
from services.neutralisation.attendee_lists import parse as parse_attendees
from services.neutralisation.event_factors import EventFactors
from services.reconciliation.trade_bill import BillFormatError, TradeBillReader, text_lines, yuan_to_fen
from services.rewards import partner_signing, partners
from services.rewards.partners import SignedRequest
from tests.fakes.wechatpay_server import FakeWeChatPay, v2_sign
from tests.support.factors import library_table
from tests.support.trade_bill import HEADER, SUMMARY_HEADER, Payment, bill_text

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    # Providers, keys and the app's database come from function-scoped fixtures, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEWER = settings(FUZZ, max_examples=60)

# JSON values of every kind, a little nested.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Text as a header or an XML document can hold it (no surrogates, no C0 controls but none).
header_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40)


def lines_of(*choices: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """CSV-ish text: lines drawn from `choices` and from arbitrary text, joined by newlines."""
    return st.lists(st.one_of(*choices, st.text(max_size=40)), max_size=8).map("\r\n".join)


# -- the attendee list ----------------------------------------------------------------------------

ATTENDEE_LINES = lines_of(
    st.just("name,origin_city,mode,return"),
    st.just("origin_city,mode,return,extra"),
    st.builds(
        ",".join,
        st.lists(
            st.sampled_from(["林一", "厦门", "Xiamen", "hsr", "flight", "yes", "否", '"', '""', "x" * 10]),
            max_size=6,
        ),
    ),
)


@pytest.fixture(scope="module")
def factors() -> EventFactors:
    return EventFactors(library_table())


def _attendees_or_refusal(body: bytes, factors: EventFactors) -> None:
    try:
        listed = parse_attendees(body, factors)
    except ValidationFailed as exc:
        assert exc.errors and exc.message
        return
    assert listed.counts and all(count > 0 for count in listed.counts.values())
    # Every row is either counted or rejected with its row and line.
    assert listed.attendees + listed.rejected_rows == listed.rows
    assert all(fault["row"] and fault["line"] and fault["message"] for fault in listed.rejected)


@FUZZ
@given(body=st.binary(max_size=300))
def test_attendee_bytes_parse_or_are_refused(factors, body):
    _attendees_or_refusal(body, factors)


@FUZZ
@given(text=ATTENDEE_LINES, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_attendee_lists_parse_or_are_refused(factors, text, encoding):
    _attendees_or_refusal(text.encode(encoding, "replace"), factors)


def test_an_attendee_field_over_the_csv_limit_is_refused(factors):
    body = b"origin_city,mode,return\n" + b"x" * (128 * 1024 + 1) + b",hsr,yes\n"
    with pytest.raises(ValidationFailed, match="not valid CSV") as refused:
        parse_attendees(body, factors)
    assert refused.value.errors == [
        {
            "row": None,
            "field": "file",
            "message": "The CSV cannot be read at line 2: field larger than field limit (131072).",
            "line": 2,
        }
    ]


# -- the trade bill -------------------------------------------------------------------------------

BILL_CELLS = st.sampled_from(
    [
        *("2026-11-22 10:15:00", "2026-02-30 10:15:00", "2026-11-22 24:00:00"),
        *("CO1", "SUCCESS", "REFUND", "1.00", "-0.01", "1e9999", "0.001", "NaN", "", '"', "x" * 10),
    ]
)
WIDTH = len(HEADER.split(","))
BILL_LINES = st.lists(
    st.one_of(
        st.just(HEADER),
        st.just(SUMMARY_HEADER),
        # Detail rows as wide as the header, in the columns' order: 交易时间 first, amounts later.
        st.lists(BILL_CELLS, min_size=WIDTH, max_size=WIDTH).map(lambda cells: "`" + ",`".join(cells)),
        st.lists(BILL_CELLS, max_size=WIDTH + 1).map(",".join),
        st.text(max_size=40),
    ),
    max_size=8,
).map(lambda lines: "\r\n".join([HEADER, *lines]))


def _bill_or_refusal(chunks: list[bytes]) -> None:
    reader = TradeBillReader(text_lines(chunks))
    try:
        rows = list(reader)
    except ValidationFailed as exc:  # BillFormatError
        assert exc.errors and exc.message
        return
    for row in rows:  # what the reconciliation reads of each row works
        assert row.traded_at.date() == row.trade_date
        assert isinstance(row.paid_fen, int) and isinstance(row.refunded_fen, int)


@FUZZ
@given(chunks=st.lists(st.binary(max_size=60), max_size=6))
def test_bill_bytes_parse_or_are_refused(chunks):
    _bill_or_refusal(chunks)


@FUZZ
@given(text=BILL_LINES)
def test_bill_texts_parse_or_are_refused(text):
    _bill_or_refusal([line + b"\n" for line in text.encode("utf-8", "replace").split(b"\r\n")])


def test_an_amount_too_large_for_any_trade_is_refused_at_once():
    started = time.monotonic()
    for text in ("1e999999999", "92233720368547758.08", "-1e30"):
        with pytest.raises(ValueError, match="too large"):
            yuan_to_fen(text)
    assert time.monotonic() - started < 1  # never a billion-digit integer made first


def test_a_trade_time_that_is_no_moment_is_refused():
    text = bill_text([Payment("CO20261122AAAA01", "4200000001", 100, "2026-02-30 10:15:00")])
    with pytest.raises(BillFormatError, match="交易时间"):
        list(TradeBillReader(io.StringIO(text)))


# -- the partner signature ------------------------------------------------------------------------

WINDOW_S = 300
SECRET_KEY = "parser-fuzz-secret-key-0123456789abcdef"


@pytest.fixture
def partner(app):
    return partners.create_partner(None, "fuzz bank", SECRET_KEY)


@FUZZ
@given(
    data=st.data(),
    path=st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    body=st.binary(max_size=40),
    signature=st.text(max_size=80),
)
def test_partner_headers_authenticate_or_are_refused(partner, data, path, body, signature):
    now = int(time.time())
    key_id = data.draw(st.none() | st.just(partner.key_id) | st.text(max_size=70))
    timestamp = data.draw(st.none() | st.just(str(now)) | st.integers().map(str) | st.text(max_size=20))
    nonce = data.draw(
        st.none() | st.from_regex(partners.NONCE_PATTERN, fullmatch=True) | st.text(max_size=70)
    )
    if data.draw(st.booleans()) and None not in (timestamp, nonce):
        signature = partner_signing.sign(partner.secret, "GET", path, body, timestamp, nonce)
    request = SignedRequest("GET", path, body, key_id, timestamp, nonce, signature)
    try:
        assert partners.authenticate(request, SECRET_KEY, WINDOW_S) == partner.id
    except Unauthenticated as exc:
        assert exc.message


# -- payment callbacks ----------------------------------------------------------------------------

headers_maps = st.dictionaries(
    st.sampled_from(
        [
            "Wechatpay-Timestamp",
            "Wechatpay-Nonce",
            "Wechatpay-Signature",
            "Wechatpay-Serial",
            "Wechatpay-Signature-Type",
            "Content-Type",
        ]
    )
    | header_text,
    header_text | st.integers().map(str),
    max_size=6,
)
callback_bodies = st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())


def _notification_or_refusal(parse, headers, body) -> None:
    try:
        notification = parse(headers, body)
    except (PaymentError, GatewayError) as exc:
        assert str(exc)
        return
    # What the payment flow then relies on, as types.
    for name in ("out_trade_no", "transaction_id"):
        assert isinstance(getattr(notification, name), str), notification
    amounts = [getattr(notification, n, None) for n in ("amount_fen", "refund_fen", "total_fen")]
    assert all(isinstance(a, int) for a in amounts if a is not None), notification


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(appid="wx-fuzz")


@FUZZ
@given(headers=headers_maps, body=callback_bodies)
def test_sandbox_callbacks_parse_or_are_refused(sandbox, headers, body):
    _notification_or_refusal(sandbox.parse_payment_callback, headers, body)
    _notification_or_refusal(sandbox.parse_refund_callback, headers, body)


@FEWER
@given(amount=json_values, number=json_values | st.just("ORDER0001"))
def test_sandbox_callbacks_for_a_real_trade_parse_or_are_refused(sandbox, amount, number):
    sandbox.prepay(
        PrepayRequest(
            out_trade_no="ORDER0001",
            description="一元碳汇 50 kg",
            amount_fen=500,
            payer_openid="openid-1",
            time_expire=datetime.now(UTC) + timedelta(minutes=15),
            notify_url="http://127.0.0.1:5000/api/v1/payments/sandbox/notify",
        )
    )
    body = json.dumps({"out_trade_no": number, "amount_fen": amount}).encode()
    _notification_or_refusal(sandbox.parse_payment_callback, {}, body)


def test_sandbox_callbacks_too_deep_or_too_large_are_refused(sandbox):
    for body in (b"[" * 100_000, b'{"out_trade_no": "ORDER0001", "amount_fen": 1e400}', b"1" * 5000):
        with pytest.raises(PaymentError):
            sandbox.parse_payment_callback({}, body)


@pytest.fixture
def v3(fake_wechatpay: FakeWeChatPay, tmp_path):
    return build_provider(fake_wechatpay.settings(tmp_path))


@pytest.fixture
def v2(fake_wechatpay: FakeWeChatPay, tmp_path):
    return build_provider(fake_wechatpay.settings(tmp_path, "wechatpay_v2"))


@FUZZ
@given(headers=headers_maps, body=callback_bodies)
def test_v3_callbacks_with_any_headers_and_body_are_refused(v3, headers, body):
    _notification_or_refusal(v3.parse_payment_callback, headers, body)
    _notification_or_refusal(v3.parse_refund_callback, headers, body)


V3_RESOURCE = {
    "out_trade_no": "ORDER0001",
    "transaction_id": "4200000001",
    "trade_state": "SUCCESS",
    "amount": {"total": 500, "refund": 500},
    "payer": {"openid": "openid-1"},
    "success_time": "2026-11-22T10:15:00+08:00",
    "attach": "",
    "out_refund_no": "RF0001",
    "refund_id": "5030000001",
    "refund_status": "SUCCESS",
}


def _mutated(valid: dict, values: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """`valid` with a field or two replaced by anything, or left out."""
    return st.tuples(
        st.dictionaries(st.sampled_from(sorted(valid)), values, min_size=1, max_size=2),
        st.sets(st.sampled_from(sorted(valid)), max_size=1),
    ).map(lambda change: {k: v for k, v in {**valid, **change[0]}.items() if k not in change[1]})


@FUZZ
@given(
    resource=_mutated(V3_RESOURCE, json_values)
    | _mutated(V3_RESOURCE, st.none()).map(lambda r: {**r, "amount": {"total": 1e400, "refund": 1}}),
    event_type=st.sampled_from(["TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL"]),
)
def test_v3_callbacks_signed_over_any_content_parse_or_are_refused(v3, fake_wechatpay, resource, event_type):
    """Genuine callbacks (signed, sealed with the APIv3 key) whose resource holds anything."""
    resource = {"appid": fake_wechatpay.appid, "mchid": fake_wechatpay.mchid, **resource}
    event = fake_wechatpay._event(event_type, "transaction", "fuzz", resource, None)
    callback = fake_wechatpay._signed_callback(
        event, timestamp=None, age_s=0, forge_signature=False, use_certificate=False
    )
    _notification_or_refusal(v3.parse_payment_callback, callback.headers, callback.body)
    _notification_or_refusal(v3.parse_refund_callback, callback.headers, callback.body)


@FUZZ
@given(body=st.binary(max_size=200) | header_text.map(lambda t: f"<xml>{t}</xml>".encode()))
def test_v2_callbacks_with_any_body_are_refused(v2, body):
    _notification_or_refusal(v2.parse_payment_callback, {}, body)
    _notification_or_refusal(v2.parse_refund_callback, {}, body)


V2_MESSAGE = {
    "result_code": "SUCCESS",
    "out_trade_no": "ORDER0001",
    "transaction_id": "4200000001",
    "total_fee": "500",
    "openid": "openid-1",
    "time_end": "20261122101500",
    "attach": "",
}


@FUZZ
@given(fields=_mutated(V2_MESSAGE, header_text), sign_type=st.sampled_from(["MD5", "HMAC-SHA256"]))
def test_v2_callbacks_signed_over_any_content_parse_or_are_refused(v2, fake_wechatpay, fields, sign_type):
    """Genuine-looking notifications (the right appid, mch_id and sign) whose fields hold anything."""
    message = {
        **fields,
        "return_code": "SUCCESS",
        "appid": fake_wechatpay.appid,
        "mch_id": fake_wechatpay.mchid,
        "sign_type": sign_type,
    }
    message["sign"] = v2_sign(message, fake_wechatpay.api_key, sign_type)
    body = "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in message.items()) + "</xml>"
    _notification_or_refusal(v2.parse_payment_callback, {}, body.encode())
