"""Certificates of offset: what a buyer can show and anyone can verify."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, utcnow


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    VOID = "void"  # refunded in full
    SUPERSEDED = "superseded"  # replaced after a partial refund


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(64))
    grams: Mapped[int]
    status: Mapped[CertificateStatus] = mapped_column(
        _enum(CertificateStatus, "certificate_status"), default=CertificateStatus.VALID
    )
    # Projects and registry serial slices as they were at issue: [{"project", "batch_id", "serial", "from_g", "to_g"}].
    claims: Mapped[Any] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
