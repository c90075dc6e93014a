"""Matching a trade bill against the orders, refunds and payment events here, in batches.

Rows come in chunks (`CHUNK_ROWS`); each chunk costs a few `IN` queries on indexed keys
(`orders.out_trade_no`, `orders.transaction_id`, `payment_events (kind, provider_ref)`,
`refunds.out_refund_no`), never one query per line. What the bill showed is remembered only as the
ids of the orders and refunds it matched (8 bytes each, in an `array`), so that at the end the day's
paid orders and accepted refunds can be streamed from the database, in id order, and those the bill
did not list found by a merge walk.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from models import DiscrepancyKind, Order, PaymentEvent, Refund, RefundStatus
from models.database import is_postgres
from services.kernel.beijing_time import day_bounds
from services.reconciliation.trade_bill import BillRow, BillSummary

CHUNK_ROWS = 5_000
WECHATPAY_PROVIDERS = ("wechatpay_v3", "wechatpay_v2")
# Refund states in the bill that mean WeChat Pay accepted the refund (the bill is a snapshot).
ACCEPTED_AT_WECHAT = ("", "SUCCESS", "PROCESSING")
K = DiscrepancyKind


def among(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `= ANY(array)`, one parameter however many the values."""
    values = list(values)
    if is_postgres():
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def providers_sharing_bill(provider_name: str) -> tuple[str, ...]:
    """APIv2 and APIv3 are two doors to one merchant account, hence to one bill."""
    return WECHATPAY_PROVIDERS if provider_name in WECHATPAY_PROVIDERS else (provider_name,)


@dataclass
class RowSums:
    """Sums over the bill's detail rows, to hold against its summary row."""

    count: int = 0
    payments: int = 0
    payments_fen: int = 0
    refunds: int = 0
    refunds_fen: int = 0
    settled_fen: int = 0
    refund_fen: int = 0
    coupon_refund_fen: int = 0
    fee_fen: int = 0
    order_fen: int = 0
    requested_refund_fen: int = 0

    def add(self, row: BillRow) -> None:
        self.count += 1
        if row.is_refund:
            self.refunds += 1
            self.refunds_fen += row.refunded_fen
        else:
            self.payments += 1
            self.payments_fen += row.paid_fen
        self.settled_fen += row.settled_fen
        self.refund_fen += row.refund_fen
        self.coupon_refund_fen += row.coupon_refund_fen
        self.fee_fen += row.fee_fen
        self.order_fen += row.order_fen or 0
        self.requested_refund_fen += row.requested_refund_fen or 0


# Summary field -> (its name in the bill, the matching RowSums field).
SUMMARY_CHECKS = (
    ("count", "总交易单数", "count"),
    ("settled_fen", "应结订单总金额", "settled_fen"),
    ("refund_fen", "退款总金额", "refund_fen"),
    ("coupon_refund_fen", "充值券退款总金额", "coupon_refund_fen"),
    ("fee_fen", "手续费总金额", "fee_fen"),
    ("order_fen", "订单总金额", "order_fen"),
    ("requested_refund_fen", "申请退款总金额", "requested_refund_fen"),
)


def _bill_row(row: BillRow) -> dict[str, Any]:
    """The few fields of a bill row that acting on a discrepancy needs."""
    return {
        "line_no": row.line_no,
        "trade_time": row.trade_time,
        "appid": row.appid,
        "mchid": row.mchid,
        "openid": row.openid,
        "trade_state": row.trade_state,
        "refund_status": row.refund_status,
    }


def discrepancy(
    kind: DiscrepancyKind,
    *,
    row: BillRow | None = None,
    order: Row[Any] | None = None,
    refund: Row[Any] | None = None,
    detail: str = "",
    amount_here_fen: int | None = None,
    amount_there_fen: int | None = None,
    status_here: str | None = None,
    status_there: str | None = None,
    out_trade_no: str | None = None,
    transaction_id: str | None = None,
    order_id: int | None = None,
    line_no: int | None = None,
) -> dict[str, Any]:
    """A discrepancy as the dict of column values that a bulk insert takes (run_id added later)."""
    if row is not None:
        out_trade_no, transaction_id, line_no = row.out_trade_no, row.transaction_id, row.line_no
    elif order is not None:
        out_trade_no, transaction_id = order.out_trade_no, order.transaction_id
    return {
        "kind": kind,
        "line_no": line_no,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id or None,
        "out_refund_no": (row.out_refund_no or None) if row else (refund.out_refund_no if refund else None),
        "refund_id": (row.refund_id or None) if row else (refund.refund_id if refund else None),
        "order_id": order.id if order is not None else order_id,
        "refund_pk": refund.id if refund else None,
        "amount_here_fen": amount_here_fen,
        "amount_there_fen": amount_there_fen,
        "status_here": status_here,
        "status_there": status_there,
        "detail": detail[:255],
        "bill_row": _bill_row(row) if row else None,
        "resolution": None,
        "resolution_note": "",
        "resolved_by": None,
        "resolved_at": None,
    }


def _streamed(conn: Connection, statement: Any) -> Iterator[Row[Any]]:
    """The statement's rows, fetched `CHUNK_ROWS` at a time from a server-side cursor."""
    result = conn.execution_options(yield_per=CHUNK_ROWS).execute(statement)
    for partition in result.partitions():
        yield from partition


class SortedIds:
    """A set of ids asked about in ascending order only: a sorted array and a moving position."""

    def __init__(self, ids: array) -> None:
        self._ids = array("q", sorted(ids))
        self._at = 0

    def contains(self, value: int) -> bool:
        ids, at, size = self._ids, self._at, len(self._ids)
        while at < size and ids[at] < value:
            at += 1
        self._at = at
        return at < size and ids[at] == value


class BillMatcher:
    """Compares chunks of bill rows with the database and collects discrepancies."""

    def __init__(self, provider_name: str) -> None:
        self.providers = providers_sharing_bill(provider_name)
        self.sums = RowSums()
        self.matched = 0
        self.by_kind: Counter[str] = Counter()
        self.here = {"paid_orders": 0, "paid_fen": 0, "refunds": 0, "refund_fen": 0}
        self._seen_orders = array("q")
        self._seen_refunds = array("q")

    def _found(self, found: list[dict[str, Any]], kind: DiscrepancyKind, **values: Any) -> None:
        self.by_kind[kind.value] += 1
        found.append(discrepancy(kind, **values))

    # -- the rows of the bill --

    def match(self, conn: Connection, rows: list[BillRow]) -> list[dict[str, Any]]:
        """Compare one chunk of rows; the discrepancies found in it."""
        found: list[dict[str, Any]] = []
        trades = [r for r in rows if not r.is_refund]
        refunds = [r for r in rows if r.is_refund]
        for row in rows:
            self.sums.add(row)
        order_columns = (Order.id, Order.out_trade_no, Order.transaction_id, Order.status, Order.amount_fen)
        orders = {
            o.out_trade_no: o
            for o in conn.execute(
                select(*order_columns).where(among(Order.out_trade_no, {r.out_trade_no for r in rows}))
            )
        }
        odd = {
            r.transaction_id
            for r in trades
            if r.transaction_id
            and ((o := orders.get(r.out_trade_no)) is None or o.transaction_id != r.transaction_id)
        }
        by_transaction: dict[str, Row[Any]] = {}
        events: dict[str, Row[Any]] = {}
        second: dict[str, Row[Any]] = {}  # refunds of second payments, by the payment's transaction
        if odd:
            by_transaction = {
                o.transaction_id: o
                for o in conn.execute(select(*order_columns).where(among(Order.transaction_id, odd)))
            }
            events = {
                e.provider_ref: e
                for e in conn.execute(
                    select(PaymentEvent.provider_ref, PaymentEvent.order_id, PaymentEvent.outcome).where(
                        PaymentEvent.kind == "payment", among(PaymentEvent.provider_ref, odd)
                    )
                )
            }
            second = {
                r.transaction_id: r
                for r in conn.execute(
                    select(Refund.transaction_id, Refund.out_refund_no, Refund.status).where(
                        among(Refund.transaction_id, odd)
                    )
                )
            }
        for row in trades:
            self._trade(row, orders.get(row.out_trade_no), by_transaction, events, found, second)
        if refunds:
            refund_columns = (
                Refund.id,
                Refund.out_refund_no,
                Refund.refund_id,
                Refund.order_id,
                Refund.amount_fen,
                Refund.status,
            )
            here = {
                r.out_refund_no: r
                for r in conn.execute(
                    select(*refund_columns).where(
                        among(Refund.out_refund_no, {r.out_refund_no for r in refunds})
                    )
                )
            }
            unknown = {r.refund_id for r in refunds if r.out_refund_no not in here and r.refund_id}
            by_refund_id = (
                {
                    r.refund_id: r
                    for r in conn.execute(select(*refund_columns).where(among(Refund.refund_id, unknown)))
                }
                if unknown
                else {}
            )
            for row in refunds:
                refund = here.get(row.out_refund_no) or by_refund_id.get(row.refund_id)
                self._refund(row, refund, orders.get(row.out_trade_no), found)
        return found

    def _trade(
        self,
        row: BillRow,
        order: Row[Any] | None,
        by_transaction: dict[str, Row[Any]],
        events: dict[str, Row[Any]],
        found: list[dict[str, Any]],
        second: dict[str, Row[Any]] | None = None,
    ) -> None:
        status_here = order.status.value if order is not None else None
        if row.trade_state != "SUCCESS":  # e.g. REVOKED: the money did not stay at WeChat Pay
            if order is not None and order.transaction_id == row.transaction_id:
                self._seen_orders.append(order.id)
                self._found(
                    found,
                    K.STATUS_DIFFERS,
                    row=row,
                    order=order,
                    detail=f"{row.trade_state} at WeChat Pay, paid here",
                    status_here=status_here,
                    status_there=row.trade_state,
                )
            else:
                self.matched += 1
            return
        if order is None:
            other = by_transaction.get(row.transaction_id)
            if other is not None:
                self._seen_orders.append(other.id)
                self._found(
                    found,
                    K.STATUS_DIFFERS,
                    row=row,
                    order=other,
                    detail=f"this transaction pays order {other.out_trade_no} here",
                    status_here=other.status.value,
                    status_there=row.trade_state,
                    amount_here_fen=other.amount_fen,
                    amount_there_fen=row.paid_fen,
                )
            else:
                self._found(
                    found,
                    K.MISSING_HERE,
                    row=row,
                    detail="no order with this out_trade_no here",
                    status_there=row.trade_state,
                    amount_there_fen=row.paid_fen,
                )
            return
        if order.transaction_id is None:
            self._found(
                found,
                K.MISSING_HERE,
                row=row,
                order=order,
                detail=f"paid at WeChat Pay, {status_here} here: the payment notification never arrived",
                status_here=status_here,
                status_there=row.trade_state,
                amount_here_fen=order.amount_fen,
                amount_there_fen=row.paid_fen,
            )
            return
        self._seen_orders.append(order.id)  # this row accounts for the order, whatever differs
        if order.transaction_id != row.transaction_id:
            event = events.get(row.transaction_id)
            if event is not None and event.order_id == order.id:
                refund = (second or {}).get(row.transaction_id)
                self._found(
                    found,
                    K.PAID_TWICE,
                    row=row,
                    order=order,
                    detail=f"a second payment of this order, refunded automatically by {refund.out_refund_no}"
                    if refund is not None
                    else "a second payment of this order (recorded here); refund it",
                    status_here=refund.status.value if refund is not None else status_here,
                    status_there=row.trade_state,
                    amount_here_fen=order.amount_fen,
                    amount_there_fen=row.paid_fen,
                )
                return
            detail = f"paid here by transaction {order.transaction_id}"
            self._found(
                found,
                K.STATUS_DIFFERS,
                row=row,
                order=order,
                detail=detail,
                status_here=status_here,
                status_there=row.trade_state,
                amount_here_fen=order.amount_fen,
                amount_there_fen=row.paid_fen,
            )
            return
        if row.paid_fen != order.amount_fen:
            self._found(
                found,
                K.AMOUNT_DIFFERS,
                row=row,
                order=order,
                detail=f"{row.paid_fen} fen at WeChat Pay, {order.amount_fen} fen here",
                status_here=status_here,
                status_there=row.trade_state,
                amount_here_fen=order.amount_fen,
                amount_there_fen=row.paid_fen,
            )
            return
        self.matched += 1

    def _refund(
        self, row: BillRow, refund: Row[Any] | None, order: Row[Any] | None, found: list[dict[str, Any]]
    ) -> None:
        accepted = row.refund_status in ACCEPTED_AT_WECHAT
        if refund is None:
            if accepted:
                self._found(
                    found,
                    K.REFUND_MISSING_HERE,
                    row=row,
                    order=order,
                    detail="no refund with this out_refund_no here",
                    status_there=row.refund_status or row.trade_state,
                    amount_there_fen=row.refunded_fen,
                )
            else:
                self.matched += 1
            return
        self._seen_refunds.append(refund.id)
        values = {
            "row": row,
            "order": order,
            "refund": refund,
            "status_here": refund.status.value,
            "status_there": row.refund_status or row.trade_state,
            "amount_here_fen": refund.amount_fen,
            "amount_there_fen": row.refunded_fen,
        }
        if not accepted:
            if refund.status == RefundStatus.SUCCEEDED:
                detail = f"{row.refund_status} at WeChat Pay, succeeded here"
                self._found(found, K.REFUND_MISSING_AT_WECHAT, detail=detail, **values)
            else:
                self.matched += 1
            return
        if refund.status == RefundStatus.FAILED:
            self._found(found, K.REFUND_MISSING_HERE, detail="accepted at WeChat Pay, failed here", **values)
            return
        if row.refunded_fen != refund.amount_fen:
            detail = f"{row.refunded_fen} fen at WeChat Pay, {refund.amount_fen} fen here"
            self._found(found, K.REFUND_AMOUNT_DIFFERS, detail=detail, **values)
            return
        self.matched += 1

    # -- what only this side knows --

    def unlisted(
        self, conn: Connection, bill_date: date, flush: Callable[[list[dict[str, Any]]], None]
    ) -> None:
        """Orders paid and refunds accepted here that day which the bill did not list.

        `flush` receives the discrepancies a chunk at a time; the day's totals here are counted too.
        """
        start, end = day_bounds(bill_date)
        found: list[dict[str, Any]] = []
        paid = (
            select(Order.id, Order.out_trade_no, Order.transaction_id, Order.status, Order.amount_fen)
            .where(
                Order.provider.in_(self.providers),
                Order.paid_at >= start,
                Order.paid_at < end,
                Order.transaction_id.is_not(None),
            )
            .order_by(Order.id)
        )
        listed = SortedIds(self._seen_orders)
        self._seen_orders = array("q")
        for order in _streamed(conn, paid):
            self.here["paid_orders"] += 1
            self.here["paid_fen"] += order.amount_fen
            if listed.contains(order.id):
                continue
            self._found(
                found,
                K.MISSING_AT_WECHAT,
                order=order,
                detail="paid here that day, not in the bill",
                status_here=order.status.value,
                amount_here_fen=order.amount_fen,
            )
            if len(found) >= CHUNK_ROWS:
                flush(found)
                found = []
        accepted = (
            select(
                Refund.id,
                Refund.out_refund_no,
                Refund.refund_id,
                Refund.amount_fen,
                Refund.status,
                Refund.order_id,
                Order.out_trade_no,
                # The payment refunded: a second payment's own, else the order's.
                func.coalesce(Refund.transaction_id, Order.transaction_id).label("transaction_id"),
            )
            .join(Order, Order.id == Refund.order_id)
            .where(
                Order.provider.in_(self.providers),
                Refund.created_at >= start,
                Refund.created_at < end,
                Refund.status != RefundStatus.FAILED,
                # Accepted at WeChat Pay: succeeded, or given a refund id while still processing.
                or_(Refund.status == RefundStatus.SUCCEEDED, Refund.refund_id.is_not(None)),
            )
            .order_by(Refund.id)
        )
        listed = SortedIds(self._seen_refunds)
        self._seen_refunds = array("q")
        for refund in _streamed(conn, accepted):
            self.here["refunds"] += 1
            self.here["refund_fen"] += refund.amount_fen
            if listed.contains(refund.id):
                continue
            self._found(
                found,
                K.REFUND_MISSING_AT_WECHAT,
                refund=refund,
                detail=f"{refund.status.value} here, not in the bill",
                status_here=refund.status.value,
                amount_here_fen=refund.amount_fen,
                out_trade_no=refund.out_trade_no,
                transaction_id=refund.transaction_id,
                order_id=refund.order_id,
            )
            if len(found) >= CHUNK_ROWS:
                flush(found)
                found = []
        if found:
            flush(found)

    def summary_checks(self, summary: BillSummary | None) -> list[dict[str, Any]]:
        """The summary row against the sums of the rows: one discrepancy per total that differs."""
        found: list[dict[str, Any]] = []
        if summary is None:
            return found
        for field, label, sum_field in SUMMARY_CHECKS:
            stated = getattr(summary, field)
            if stated is None:
                continue
            counted = getattr(self.sums, sum_field)
            if stated == counted:
                continue
            kind = K.FEE_MISMATCH if field == "fee_fen" else K.TOTALS_MISMATCH
            unit = "rows" if field == "count" else "fen"
            values: dict[str, Any] = {
                "detail": f"{label}: the summary says {stated} {unit}, the rows add up to {counted}",
                "line_no": summary.line_no,
            }
            if field != "count":
                values |= {"amount_here_fen": counted, "amount_there_fen": stated}
            self._found(found, kind, **values)
        return found

    def totals(self, summary: BillSummary | None) -> dict[str, Any]:
        """What the run stores in `totals`."""
        return {
            "bill": None
            if summary is None
            else {f.name: getattr(summary, f.name) for f in fields(summary) if f.name != "line_no"},
            "rows": asdict(self.sums),
            "here": dict(self.here),
            "by_kind": dict(self.by_kind),
        }
