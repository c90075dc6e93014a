"""Reading WeChat Pay's daily trade bill (type ALL), line by line, in bounded memory.

The bill is a CSV in four parts: a header row of column names; one row per payment (交易状态
SUCCESS, or REVOKED) and one row per refund (交易状态 REFUND, with 微信退款单号, 商户退款单号 and
退款金额); a summary header (总交易单数, 应结订单总金额, 退款总金额, ...); the summary row. Every value
of the detail and summary rows starts with a backtick (so that spreadsheets keep long numbers as
text); the header rows do not. Columns are found by their names, not their positions, since WeChat
Pay does not promise their order; the older APIv2 names (总金额, 子商户号, 总交易额, 总退款金额, ...)
are understood too. Amounts are yuan with two decimals and become integer fen exactly.

`TradeBillReader(lines)` takes any iterable of text lines (a file, a generator) and yields
`BillRow`s; after the last one `summary` holds the summary row, or None when the bill has none
(the sandbox's bill). A line that cannot be read raises `BillFormatError` naming its line number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from services.kernel.beijing_time import BEIJING
from services.kernel.errors import ValidationFailed

# Canonical field -> the column names WeChat Pay uses for it (APIv3 first, then APIv2's older names).
DETAIL_COLUMNS: dict[str, tuple[str, ...]] = {
    "trade_time": ("交易时间",),
    "appid": ("公众账号ID",),
    "mchid": ("商户号",),
    "sub_mchid": ("特约商户号", "子商户号"),
    "transaction_id": ("微信订单号",),
    "out_trade_no": ("商户订单号",),
    "openid": ("用户标识",),
    "trade_type": ("交易类型",),
    "trade_state": ("交易状态",),
    "settled": ("应结订单金额", "总金额"),
    "coupon": ("代金券金额", "代金券或立减优惠金额"),
    "refund_id": ("微信退款单号",),
    "out_refund_no": ("商户退款单号",),
    "refund": ("退款金额",),
    "coupon_refund": ("充值券退款金额", "代金券或立减优惠退款金额"),
    "refund_type": ("退款类型",),
    "refund_status": ("退款状态",),
    "fee": ("手续费",),
    "rate": ("费率",),
    "order_amount": ("订单金额",),
    "requested_refund": ("申请退款金额",),
}
REQUIRED_DETAIL = ("trade_time", "transaction_id", "out_trade_no", "trade_state", "settled")
AMOUNT_FIELDS = ("settled", "coupon", "refund", "coupon_refund", "fee", "order_amount", "requested_refund")
TEXT_FIELDS = (
    "trade_time",
    "appid",
    "mchid",
    "transaction_id",
    "out_trade_no",
    "openid",
    "trade_state",
    "refund_id",
    "out_refund_no",
    "refund_status",
)

SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "count": ("总交易单数",),
    "settled": ("应结订单总金额", "总交易额"),
    "refund": ("退款总金额", "总退款金额"),
    "coupon_refund": ("充值券退款总金额", "总代金券或立减优惠退款金额"),
    "fee": ("手续费总金额",),
    "order_amount": ("订单总金额",),
    "requested_refund": ("申请退款总金额",),
}
SUMMARY_FIRST = "总交易单数"

_FIELD_LABELS = {field: names[0] for field, names in DETAIL_COLUMNS.items()}
# 交易时间 as WeChat Pay writes it; the date is checked apart (a bill holds one or two dates).
_TRADE_TIME = re.compile(r"(20[0-9]{2}-[0-9]{2}-[0-9]{2}) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
# An amount beyond this many fen is no trade's (and no database column's).
MAX_FEN = 2**63 - 1


class BillFormatError(ValidationFailed):
    """The bill cannot be read; `line_no` is the 1-based line at fault."""

    code = "bill_format_error"

    def __init__(self, line_no: int, message: str) -> None:
        text = f"line {line_no}: {message}"
        super().__init__(f"The trade bill cannot be read: {text}", errors={"file": [text]})
        self.line_no = line_no


@lru_cache(maxsize=16_384)
def yuan_to_fen(text: str) -> int:
    """'12.34' → 1234, exactly (Decimal); more than two decimals or anything else raises ValueError."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in yuan") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount in yuan")
    # Before any arithmetic: "1e999999999" overflows the decimal context, or makes a
    # billion-digit integer.
    if value.adjusted() > 17 or abs(value.scaleb(2)) > MAX_FEN:
        raise ValueError(f"{text!r} is too large an amount")
    fen = value.scaleb(2)
    if fen != fen.to_integral_value():
        raise ValueError(f"{text!r} has fractions of a fen")
    return int(fen)


@lru_cache(maxsize=1024)
def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _csv_values(line: str, line_no: int) -> list[str]:
    try:
        return next(csv.reader([line]))
    except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB)
        raise BillFormatError(line_no, f"not a CSV line ({exc})") from None


class BillRow(NamedTuple):
    """One detail row; amounts in fen (0 where the bill has no such column). A named tuple: a
    million of them are made for a million-line bill, and a tuple is the cheapest to make."""

    line_no: int
    trade_time: str  # "YYYY-MM-DD HH:MM:SS", Beijing time
    appid: str
    mchid: str
    transaction_id: str
    out_trade_no: str
    openid: str
    trade_state: str
    settled_fen: int
    coupon_fen: int
    refund_id: str
    out_refund_no: str
    refund_fen: int
    coupon_refund_fen: int
    refund_status: str
    fee_fen: int
    order_fen: int | None  # None: the bill has no 订单金额 column
    requested_refund_fen: int | None  # None: the bill has no 申请退款金额 column

    @property
    def is_refund(self) -> bool:
        return self.trade_state == "REFUND"

    @property
    def paid_fen(self) -> int:
        """What the payer's order cost (订单金额 includes coupons; 应结订单金额 where there is none)."""
        return self.order_fen if self.order_fen is not None else self.settled_fen

    @property
    def refunded_fen(self) -> int:
        """What the merchant asked to refund (申请退款金额; 退款金额 where there is none)."""
        return self.requested_refund_fen if self.requested_refund_fen else self.refund_fen

    @property
    def traded_at(self) -> datetime:
        return datetime.strptime(self.trade_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)

    @property
    def trade_date(self) -> date:
        return date.fromisoformat(self.trade_time[:10])


@dataclass(frozen=True)
class BillSummary:
    """The summary row; a field is None when the bill's summary has no such column."""

    line_no: int
    count: int | None
    settled_fen: int | None
    refund_fen: int | None
    coupon_refund_fen: int | None
    fee_fen: int | None
    order_fen: int | None
    requested_refund_fen: int | None


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("`") else value


def _columns(names: list[str], wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
    positions = {name.strip().lstrip("\ufeff"): i for i, name in enumerate(names)}
    found: dict[str, int] = {}
    for field, aliases in wanted.items():
        for alias in aliases:
            if alias in positions:
                found[field] = positions[alias]
                break
    return found


class TradeBillReader:
    """Iterate over the detail rows of a trade bill; `summary` is set once they are exhausted."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.summary: BillSummary | None = None
        self.columns: dict[str, int] = {}
        self.width = 0
        self._texts = itemgetter(0)
        self._amounts = itemgetter(0)
        self._has_order_amount = self._has_requested_refund = False

    def __iter__(self) -> Iterator[BillRow]:
        return self._rows()

    def _split(self, line: str, line_no: int) -> list[str]:
        """The values of a line, backticks removed. When every value starts with a backtick, as
        WeChat Pay writes them, the line is split on ",`", so a comma inside a value (a product
        name) does no harm."""
        if line.startswith("`"):
            values = line[1:].split(",`")
            if len(values) == self.width or not self.width:
                return values
        values = _csv_values(line, line_no) if '"' in line else line.split(",")
        return [_unquote(value) for value in values]

    def _rows(self) -> Iterator[BillRow]:
        state = "header"
        summary_columns: dict[str, int] = {}
        summary_header_line = 0
        for line_no, raw in enumerate(self._lines, start=1):
            line = raw.rstrip("\r\n")
            if line_no == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            if state == "header":
                names = [name.strip() for name in _csv_values(line, line_no)]
                self.columns = _columns(names, DETAIL_COLUMNS)
                missing = [_FIELD_LABELS[f] for f in REQUIRED_DETAIL if f not in self.columns]
                if missing:
                    raise BillFormatError(line_no, "the header row lacks the columns " + ", ".join(missing))
                self.width = len(names)
                self._texts = itemgetter(*(self.columns.get(f, -1) for f in TEXT_FIELDS))
                self._amounts = itemgetter(*(self.columns.get(f, -1) for f in AMOUNT_FIELDS))
                self._has_order_amount = "order_amount" in self.columns
                self._has_requested_refund = "requested_refund" in self.columns
                state = "detail"
                continue
            if state == "detail":
                if not line.startswith(("`", '"')) and line.split(",", 1)[0].strip() == SUMMARY_FIRST:
                    summary_columns = _columns(_csv_values(line, line_no), SUMMARY_COLUMNS)
                    summary_header_line = line_no
                    state = "summary"
                    continue
                yield self._detail(self._split(line, line_no), line_no)
                continue
            if state == "summary":
                self.summary = self._summary(self._split(line, line_no), summary_columns, line_no)
                state = "end"
                continue
            raise BillFormatError(line_no, "unexpected content after the summary row")
        if state == "header":
            return  # an empty bill: no trades that day
        if state == "summary":
            raise BillFormatError(summary_header_line, "the summary header has no summary row after it")

    def _detail(self, values: list[str], line_no: int) -> BillRow:
        if len(values) != self.width:
            raise BillFormatError(line_no, f"expected {self.width} values, found {len(values)}")
        values.append("")  # what a column the bill lacks reads as (its position is -1)
        (trade_time, appid, mchid, transaction_id, out_trade_no, openid, state, refund_id, out_refund_no,
         refund_status) = self._texts(values)  # fmt: skip
        day = _TRADE_TIME.fullmatch(trade_time)
        if day is None or not _is_day(day.group(1)):
            raise BillFormatError(line_no, f"交易时间 {trade_time!r} is not YYYY-MM-DD HH:MM:SS")
        if not out_trade_no:
            raise BillFormatError(line_no, "商户订单号 is empty")
        refund = state == "REFUND"
        if refund and not out_refund_no:
            raise BillFormatError(line_no, "a refund row without 商户退款单号")
        try:
            settled, coupon, refunded, coupon_refund, fee, order_amount, requested = [
                yuan_to_fen(value) if value else 0 for value in self._amounts(values)
            ]
        except ValueError:
            for field, value in zip(AMOUNT_FIELDS, self._amounts(values), strict=True):
                try:
                    yuan_to_fen(value or "0")
                except ValueError as exc:
                    raise BillFormatError(line_no, f"{_FIELD_LABELS[field]}: {exc}") from None
            raise
        return BillRow(
            line_no=line_no,
            trade_time=trade_time,
            appid=appid,
            mchid=mchid,
            transaction_id=transaction_id,
            out_trade_no=out_trade_no,
            openid=openid,
            trade_state=state,
            settled_fen=settled,
            coupon_fen=coupon,
            refund_id=refund_id if refund else "",
            out_refund_no=out_refund_no if refund else "",
            refund_fen=refunded,
            coupon_refund_fen=coupon_refund,
            refund_status=refund_status,
            fee_fen=fee,
            order_fen=order_amount if self._has_order_amount else None,
            requested_refund_fen=requested if self._has_requested_refund else None,
        )

    @staticmethod
    def _summary(values: list[str], columns: dict[str, int], line_no: int) -> BillSummary:
        def number(field: str) -> int | None:
            position = columns.get(field)
            if position is None:
                return None
            if position >= len(values):
                raise BillFormatError(line_no, "the summary row is shorter than its header")
            value = values[position]
            try:
                return int(value) if field == "count" else yuan_to_fen(value)
            except ValueError:
                raise BillFormatError(
                    line_no, f"{SUMMARY_COLUMNS[field][0]} {value!r} is not a number"
                ) from None

        return BillSummary(
            line_no=line_no,
            count=number("count"),
            settled_fen=number("settled"),
            refund_fen=number("refund"),
            coupon_refund_fen=number("coupon_refund"),
            fee_fen=number("fee"),
            order_fen=number("order_amount"),
            requested_refund_fen=number("requested_refund"),
        )


class ByteCounter:
    """Bytes read so far by `text_lines`, for a progress bar."""

    def __init__(self) -> None:
        self.bytes = 0


def text_lines(chunks: Iterable[bytes], counter: ByteCounter | None = None) -> Iterator[str]:
    """Decode a bill's byte lines: UTF-8 (with or without BOM), or GB18030 for a bill saved from a
    Chinese spreadsheet program; the first line that is not blank decides."""
    encoding = ""
    for line_no, raw in enumerate(chunks, start=1):
        if counter is not None:
            counter.bytes += len(raw)
        if not encoding:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                encoding = "gb18030"
                text = raw.decode(encoding, errors="replace")
            else:
                if text.strip():
                    encoding = "utf-8"
            yield text
            continue
        try:
            yield raw.decode(encoding)
        except UnicodeDecodeError:
            raise BillFormatError(line_no, f"not {encoding} text") from None
