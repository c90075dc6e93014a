"""Reading WeChat Pay's trade bill: backticks, payment and refund rows, the summary, exact fen."""

import io
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.interface import PrepayRequest
from payments.sandbox import SandboxProvider
from services.kernel.beijing_time import BEIJING
from services.reconciliation.trade_bill import (
    BillFormatError,
    ByteCounter,
    TradeBillReader,
    text_lines,
    yuan_to_fen,
)
from tests.fakes.wechatpay_server import FakeTrade
from tests.support.trade_bill import Payment, RefundLine, bill_text, yuan

T = "2026-11-22 10:15:00"


def read(text: str):
    reader = TradeBillReader(io.StringIO(text))
    return list(reader), reader.summary


def test_payment_and_refund_rows_lose_their_backticks_and_amounts_become_fen():
    text = bill_text(
        [Payment("CO20261122AAAA01", "4200000001", 12_345, T)],
        [RefundLine("CO20261122AAAA01", "4200000001", "RF20261122AAAA0101", "5030000001", 2_345, T)],
    )
    (payment, refund), summary = read(text)
    assert payment.out_trade_no == "CO20261122AAAA01" and payment.transaction_id == "4200000001"
    assert payment.trade_state == "SUCCESS" and not payment.is_refund
    assert (payment.settled_fen, payment.order_fen, payment.paid_fen, payment.fee_fen) == (
        12_345,
        12_345,
        12_345,
        74,
    )
    assert payment.out_refund_no == "" and payment.line_no == 2
    assert payment.traded_at == datetime(2026, 11, 22, 10, 15, tzinfo=BEIJING)
    assert (
        refund.is_refund and refund.out_refund_no == "RF20261122AAAA0101" and refund.refund_id == "5030000001"
    )
    assert (refund.refund_fen, refund.refunded_fen, refund.settled_fen, refund.fee_fen) == (
        2_345,
        2_345,
        0,
        -14,
    )
    assert refund.refund_status == "SUCCESS" and refund.out_trade_no == "CO20261122AAAA01"
    assert summary.line_no == 5
    assert (summary.count, summary.settled_fen, summary.refund_fen, summary.fee_fen) == (2, 12_345, 2_345, 60)
    assert (summary.order_fen, summary.requested_refund_fen, summary.coupon_refund_fen) == (12_345, 2_345, 0)


def test_the_fake_wechatpay_bill_shape_is_read(fake_wechatpay):
    fake_wechatpay.trades["CO20261122BBBB02"] = FakeTrade(
        out_trade_no="CO20261122BBBB02",
        appid=fake_wechatpay.appid,
        mchid=fake_wechatpay.mchid,
        description="一元碳汇",
        total=250,
        payer_openid="openid-1",
        notify_url="http://127.0.0.1/notify",
        attach="",
        prepay_id="wx1",
        params={},
    )
    paid = fake_wechatpay.pay("CO20261122BBBB02")
    rows, summary = read(fake_wechatpay.bill_csv(paid.success_time.date()).decode())
    (row,) = rows
    assert (row.out_trade_no, row.transaction_id, row.paid_fen, row.fee_fen) == (
        "CO20261122BBBB02",
        paid.transaction_id,
        250,
        2,
    )
    assert (summary.count, summary.settled_fen, summary.fee_fen) == (1, 250, 2)


def test_the_sandbox_bill_without_summary_is_read():
    sandbox = SandboxProvider()
    sandbox.prepay(
        PrepayRequest(
            out_trade_no="CO20261122CCCC03",
            description="碳汇",
            amount_fen=500,
            payer_openid="openid",
            time_expire=datetime.now(BEIJING),
            notify_url="http://127.0.0.1/notify",
        )
    )
    notification = sandbox.complete("CO20261122CCCC03", 500)
    rows, summary = read(sandbox.trade_bill(notification.success_time.astimezone(BEIJING).date()).decode())
    assert [(r.out_trade_no, r.paid_fen, r.order_fen) for r in rows] == [("CO20261122CCCC03", 500, None)]
    assert summary is None


def test_columns_are_found_by_name_in_any_order_and_older_names_are_understood():
    text = (
        "商户订单号,交易状态,总金额,微信订单号,交易时间,商户退款单号,退款金额,手续费\n"
        "`CO1234567,`SUCCESS,`1.00,`4200000009,`2026-11-22 00:00:01,`0,`0.00,`0.01\n"
        "总交易单数,总交易额,总退款金额,手续费总金额\n"
        "`1,`1.00,`0.00,`0.01\n"
    )
    (row,), summary = read(text)
    assert (row.out_trade_no, row.transaction_id, row.paid_fen, row.fee_fen) == (
        "CO1234567",
        "4200000009",
        100,
        1,
    )
    assert (summary.count, summary.settled_fen, summary.refund_fen, summary.fee_fen) == (1, 100, 0, 1)
    assert summary.order_fen is None


def test_a_product_name_with_a_comma_keeps_the_row_whole():
    text = bill_text([Payment("CO20261122DDDD04", "4200000004", 100, T, product="碳汇, 顺昌县")])
    (row,), _ = read(text)
    assert row.paid_fen == 100 and row.fee_fen == 1


def test_a_bom_blank_lines_and_an_empty_bill():
    (row,), summary = read("\ufeff" + bill_text([Payment("CO20261122EEEE05", "42", 1, T)]) + "\r\n\r\n")
    assert row.paid_fen == 1 and summary.count == 1
    assert read("") == ([], None)


@pytest.mark.parametrize(
    ("broken", "line", "says"),
    [
        ("`2026-11-22 10:15:00,`wx,`190", 3, "expected 27 values, found 3"),
        (",".join(["`2026-11-22 10:15:00"] + ["`x"] * 26), 3, "应结订单金额: 'x' is not an amount in yuan"),
        ("`22/11/2026" + ",`0" * 26, 3, "交易时间 '22/11/2026' is not YYYY-MM-DD HH:MM:SS"),
    ],
    ids=["short", "amount", "time"],
)
def test_a_malformed_line_is_reported_with_its_number(broken, line, says):
    good = bill_text([Payment("CO20261122FFFF06", "4200000006", 100, T)]).split("\r\n")
    text = "\r\n".join([good[0], good[1], broken, *good[2:]])
    with pytest.raises(BillFormatError) as caught:
        read(text)
    assert caught.value.line_no == line
    assert caught.value.errors == {"file": [f"line {line}: {says}"]}


def test_a_header_without_the_key_columns_is_refused():
    with pytest.raises(BillFormatError, match="line 1: the header row lacks the columns 商户订单号"):
        read("交易时间,微信订单号,交易状态,应结订单金额\n")


def test_summary_header_without_its_row_and_trailing_content_are_refused():
    text = bill_text([Payment("CO20261122GGGG07", "4200000007", 100, T)])
    with pytest.raises(BillFormatError, match="line 3: the summary header has no summary row"):
        read(text.rsplit("\r\n", 2)[0] + "\r\n")
    with pytest.raises(BillFormatError, match="line 5: unexpected content after the summary row"):
        read(text + "`1,`2\r\n")


def test_yuan_to_fen_is_exact_and_refuses_fractions_of_a_fen():
    assert yuan_to_fen("0.10") == 10 and yuan_to_fen("1.1") == 110 and yuan_to_fen("-0.01") == -1
    assert yuan_to_fen("12345678901234.99") == 1_234_567_890_123_499  # beyond float precision
    for bad in ("0.001", "1e-3", "abc", "", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_every_fen_amount_survives_the_bill(fen):
    assert yuan_to_fen(yuan(fen)) == fen


def test_text_lines_counts_bytes_and_reads_gb18030():
    text = bill_text([Payment("CO20261122HHHH08", "4200000008", 100, T)])
    counter = ByteCounter()
    (row,), summary = read_lines(text_lines(io.BytesIO(text.encode("gb18030")), counter))
    assert row.paid_fen == 100 and summary.count == 1
    assert counter.bytes == len(text.encode("gb18030"))


def read_lines(lines):
    reader = TradeBillReader(lines)
    return list(reader), reader.summary


def test_trade_date_is_the_beijing_day_of_the_row():
    (row,), _ = read(bill_text([Payment("CO20261122IIII09", "42", 1, "2026-11-22 23:59:59")]))
    assert row.trade_date == date(2026, 11, 22)
