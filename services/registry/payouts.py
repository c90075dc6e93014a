"""Owner payouts: what each project owner (forest farmer, village collective, ...) earned in a period.

The money of a sale belongs to the owners of the projects its grams come from (but the state's
share of a land-use compensation, and a donation for adopted trees belongs to the memorial
forest's owner: `payout_shares`). A period counts, on a cash basis in Beijing time:

- sales: the amount of every order line whose order was paid in the period (`orders.paid_at`);
- refunds: the fen of every refund line whose refund succeeded in the period (`refunds.completed_at`).

An order's lines add up to its amount (split by grams, largest remainder), and a refund's lines
add up to its fen (`services.settlement.refund_lines`), so the payouts of a period add up exactly to its net
sales: the fen paid in minus the fen refunded. A refund in a later month than its sale lowers that
later month's payout, so a payout once made never changes. Payouts go to each project's current owner.

The sales and refunds of the projects, and the net sales, are summed from the sales rollups
(`services.reporting.rollup_reads`), per day, so a period costs what its days cost; the state's
shares and the donations, few, are read from their own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Project, ProjectOwner
from models.database import read_session
from services.kernel import beijing_time
from services.kernel.errors import ValidationFailed
from services.kernel.export_cells import csv_document
from services.registry import payout_shares
from services.reporting import rollup_reads

MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """Beijing days [first_day, last_day] as the UTC moments [start, end)."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        if self.first_day.day == 1 and beijing_time.add_months(self.first_day, 1) == self.end_day:
            return f"{self.first_day:%Y-%m}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    @property
    def end_day(self) -> date:
        return date.fromordinal(self.last_day.toordinal() + 1)


def period_of(month: str | None = None, since: date | None = None, until: date | None = None) -> Period:
    """A Beijing-time month ("2026-11"), or the days from `since` (inclusive) to `until` (exclusive)."""
    if month is not None:
        if since is not None or until is not None:
            raise ValidationFailed(
                "Give a month or a date range, not both.", errors={"month": ["not with since/until"]}
            )
        try:
            first = datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise ValidationFailed(
                "A month is written YYYY-MM.", errors={"month": ["must be YYYY-MM"]}
            ) from None
        return _period(first, beijing_time.add_months(first, 1))
    if since is None or until is None:
        missing = {
            name: ["required without month"]
            for name, value in (("since", since), ("until", until))
            if value is None
        }
        raise ValidationFailed("Give a month, or both since and until.", errors=missing)
    if until <= since:
        raise ValidationFailed("`until` must be after `since`.", errors={"until": ["must be after since"]})
    if (until - since).days > MAX_PERIOD_DAYS:
        raise ValidationFailed("A period is at most ten years.", errors={"until": ["period too long"]})
    return _period(since, until)


def _period(first_day: date, end_day: date) -> Period:
    return Period(
        first_day=first_day,
        last_day=date.fromordinal(end_day.toordinal() - 1),
        start=beijing_time.day_start_utc(first_day),
        end=beijing_time.day_start_utc(end_day),
    )


CREDITS, DONATIONS, STATE_SHARE = "credits", "donations", "state_share"
STATE_NAME = "国家 (用地补偿分成)"
STATE_KIND = "state"


@dataclass(frozen=True)
class PayoutRow:
    owner_id: int | None
    owner_name: str | None
    owner_kind: str | None
    project_id: int | None
    project_code: str | None
    project_name: str | None
    kind: str | None
    sold_g: int
    sales_fen: int
    refunded_g: int
    refunded_fen: int
    # `credits` (a project owner's sales), `donations` (to a memorial forest's owner) or
    # `state_share` (the state's part of land-use compensations).
    source: str = CREDITS
    forest_id: int | None = None
    forest_name: str | None = None

    @property
    def net_g(self) -> int:
        return self.sold_g - self.refunded_g

    @property
    def net_fen(self) -> int:
        return self.sales_fen - self.refunded_fen


def _by_project(_session: Session, period: Period) -> dict[int, list[int]]:
    """project_id → [sold_g, sales_fen, refunded_g, refunded_fen] in the period (the sales rollups:
    sales by the day of payment, refunds by the day they succeeded)."""
    sums = rollup_reads.project_sums(period.first_day, period.end_day, _PROJECT_FIGURES)
    return {
        project_id: [row["sold_g"], row["gross_fen"], row["refund_g"], row["refund_fen"]]
        for project_id, row in sums.items()
        if row["orders"] or row["refund_lines"]
    }


_PROJECT_FIGURES = ("orders", "sold_g", "gross_fen", "refund_g", "refund_fen", "refund_lines")


GROUPS = ("project", "owner")


def payout_rows(period: Period, group: str = "project") -> list[PayoutRow]:
    """Every owner's (and, grouped by project, every project's) figures of the period.

    Ordered by owner name then project code; projects without an owner come last, as one owner.
    """
    if group not in GROUPS:
        raise ValidationFailed(
            "Group by project or owner.", errors={"group": [f"one of {', '.join(GROUPS)}"]}
        )
    session = read_session()
    totals = _by_project(session, period)
    state = payout_shares.state_shares(session, period)
    for project_id, (state_sales, state_refunded) in state.items():
        figures = totals.setdefault(project_id, [0, 0, 0, 0])
        figures[1] -= state_sales  # the state's part of the fee is not the owner's
        figures[3] -= state_refunded
    donated = payout_shares.donations(session, period)
    forests = payout_shares.forests(session, list(donated))
    projects = {
        project.id: project
        for project in session.scalars(select(Project).where(Project.id.in_(list(totals))))
    }
    owners = {
        owner.id: owner
        for owner in session.scalars(
            select(ProjectOwner).where(
                ProjectOwner.id.in_(
                    {p.owner_id for p in projects.values() if p.owner_id}
                    | {f.owner_id for f in forests.values()}
                )
            )
        )
    }
    by_project = group == "project"
    rows: dict[tuple[str, int | None, int | None], list[int]] = {}

    def add(key: tuple[str, int | None, int | None], figures: list[int]) -> None:
        row = rows.setdefault(key, [0, 0, 0, 0])
        for i, value in enumerate(figures):
            row[i] += value

    for project_id, figures in totals.items():
        add((CREDITS, projects[project_id].owner_id, project_id if by_project else None), figures)
    for project_id, (state_sales, state_refunded) in state.items():
        add((STATE_SHARE, None, project_id if by_project else None), [0, state_sales, 0, state_refunded])
    for forest_id, (given, refunded) in donated.items():
        add(
            (DONATIONS, forests[forest_id].owner_id, forest_id if by_project else None),
            [0, given, 0, refunded],
        )
    result = [
        _row(source, owner_id, ref_id, figures, owners, projects, forests)
        for (source, owner_id, ref_id), figures in rows.items()
    ]
    session.rollback()
    result.sort(
        key=lambda r: (
            r.owner_name is None,
            r.owner_name or "",
            r.owner_id or 0,
            r.source,
            r.project_code or r.forest_name or "",
        )
    )
    return result


def _row(
    source: str,
    owner_id: int | None,
    ref_id: int | None,
    figures: list[int],
    owners: dict[int, ProjectOwner],
    projects: dict[int, Project],
    forests: dict[int, Any],
) -> PayoutRow:
    """One payout row: `ref_id` is a project (credits, the state's share) or a forest (donations)."""
    sold_g, sales_fen, refunded_g, refunded_fen = figures
    owner = owners.get(owner_id) if owner_id is not None else None
    project = projects.get(ref_id) if ref_id is not None and source != DONATIONS else None
    forest = forests.get(ref_id) if ref_id is not None and source == DONATIONS else None
    state = source == STATE_SHARE
    return PayoutRow(
        owner_id=owner_id,
        owner_name=STATE_NAME if state else owner.name if owner else None,
        owner_kind=STATE_KIND if state else owner.kind.value if owner else None,
        project_id=project.id if project else None,
        project_code=project.code if project else None,
        project_name=project.name if project else None,
        kind=project.kind_code if project else None,
        sold_g=sold_g,
        sales_fen=sales_fen,
        refunded_g=refunded_g,
        refunded_fen=refunded_fen,
        source=source,
        forest_id=forest.id if forest else None,
        forest_name=forest.name if forest else None,
    )


def list_payouts(
    *,
    page: int,
    page_size: int,
    group: str = "project",
    month: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[list[PayoutRow], int]:
    """One page of a period's payout rows (see `period_of`), with their count."""
    rows = payout_rows(period_of(month, since, until), group)
    return rows[(page - 1) * page_size : page * page_size], len(rows)


def summary(month: str | None = None, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """The net sales of a period (see `period_of`) beside the sum of its payouts."""
    return net_sales(period_of(month, since, until))


def net_sales(period: Period) -> dict[str, Any]:
    """The period's money from the orders and refunds themselves, and the payouts beside it.

    `net_fen` (paid in minus refunded) equals `payouts_fen` (the sum of every owner's payout);
    if it ever did not, some money would belong to no owner.
    """
    days = rollup_reads.whole_order_days(
        period.first_day, period.end_day, ("paid_orders", "paid_fen", "refunds", "refund_fen")
    ).values()
    paid_fen, paid_orders = sum(d["paid_fen"] for d in days), sum(d["paid_orders"] for d in days)
    # A second payment's refund was never counted in, so it is not in the rollups either.
    refunded_fen, refunds = sum(d["refund_fen"] for d in days), sum(d["refunds"] for d in days)
    rows = payout_rows(period, "owner")
    return {
        "period": period.label,
        "first_day": period.first_day,
        "last_day": period.last_day,
        "orders_paid": int(paid_orders),
        "refunds": int(refunds),
        "sales_fen": int(paid_fen),
        "refunded_fen": int(refunded_fen),
        "net_fen": int(paid_fen) - int(refunded_fen),
        "payouts_fen": sum(row.net_fen for row in rows),
        "owners": len({row.owner_id for row in rows if row.owner_id is not None}),
    }


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 123456 → "1234.56", -5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


CSV_COLUMNS = (
    "period",
    "owner_id",
    "owner_name",
    "owner_kind",
    "project_id",
    "project_code",
    "project_name",
    "kind",
    "sold_g",
    "refunded_g",
    "net_g",
    "sales_fen",
    "refunded_fen",
    "net_fen",
    "net_yuan",
    "source",
    "forest_id",
    "forest_name",
)


def export_csv(
    group: str = "project", month: str | None = None, since: date | None = None, until: date | None = None
) -> tuple[str, str]:
    """A period's payouts as CSV (with a byte-order mark for spreadsheets); gives (file name, text)."""
    period = period_of(month, since, until)
    rows = (
        [
            period.label,
            row.owner_id,
            row.owner_name,
            row.owner_kind,
            row.project_id,
            row.project_code,
            row.project_name,
            row.kind,
            row.sold_g,
            row.refunded_g,
            row.net_g,
            row.sales_fen,
            row.refunded_fen,
            row.net_fen,
            Decimal(row.net_fen).scaleb(-2),  # a number (a refunded month may be negative), not text
            row.source,
            row.forest_id,
            row.forest_name,
        ]
        for row in payout_rows(period, group)
    )
    return f"payouts-{period.label}-by-{group}.csv", csv_document(CSV_COLUMNS, rows)
