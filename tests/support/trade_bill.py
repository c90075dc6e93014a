"""Write WeChat Pay trade bills (type ALL, APIv3 columns) for tests: payments, refunds, summary."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
APPID = "wxd678efh567hg6787"
MCHID = "1900000109"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fee_of(fen: int) -> int:
    return (fen * 6 + 500) // 1000  # 0.6 %, half up


@dataclass
class Payment:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    time: str  # YYYY-MM-DD HH:MM:SS, Beijing
    openid: str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    state: str = "SUCCESS"
    product: str = "一元碳汇"


@dataclass
class RefundLine:
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    amount_fen: int
    time: str
    status: str = "SUCCESS"


def payment_values(p: Payment) -> list[str]:
    return [
        p.time, APPID, MCHID, "0", "", p.transaction_id, p.out_trade_no, p.openid, "JSAPI", p.state,
        "OTHERS", "CNY", yuan(p.amount_fen), "0.00", "0", "0", "0.00", "0.00", "", "", p.product, "",
        yuan(fee_of(p.amount_fen)), "0.60%", yuan(p.amount_fen), "0.00", "",
    ]  # fmt: skip


def refund_values(r: RefundLine) -> list[str]:
    return [
        r.time, APPID, MCHID, "0", "", r.transaction_id, r.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00", r.refund_id, r.out_refund_no,
        yuan(r.amount_fen), "0.00", "ORIGINAL", r.status, "一元碳汇", "", yuan(-fee_of(r.amount_fen)),
        "0.60%", "0.00", yuan(r.amount_fen), "",
    ]  # fmt: skip


def bill_text(
    payments: list[Payment], refunds: list[RefundLine] = (), *, summary: dict[int, str] | None = None
) -> str:
    """The bill; `summary` replaces values of the summary row by position (to plant a wrong total)."""
    rows = [payment_values(p) for p in payments] + [refund_values(r) for r in refunds]
    settled = sum(p.amount_fen for p in payments)
    refunded = sum(r.amount_fen for r in refunds)
    fees = sum(fee_of(p.amount_fen) for p in payments) - sum(fee_of(r.amount_fen) for r in refunds)
    totals = [
        str(len(rows)),
        yuan(settled),
        yuan(refunded),
        "0.00",
        yuan(fees),
        yuan(settled),
        yuan(refunded),
    ]
    for position, value in (summary or {}).items():
        totals[position] = value
    lines = [HEADER, *(",".join("`" + v for v in row) for row in rows), SUMMARY_HEADER]
    lines.append(",".join("`" + v for v in totals))
    return "\r\n".join(lines) + "\r\n"
