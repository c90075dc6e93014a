"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from models.accounts import AuthToken, Organisation, OrganisationKind, OrganisationMember, Role, User
from models.audit import AuditEntry
from models.base import Base, utcnow
from models.bench import BenchCounter
from models.certificates import Certificate, CertificateStatus
from models.footprint import Factor, FactorSet, Footprint, PeriodType
from models.orders import (
    Channel,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentEvent,
    Refund,
    RefundStatus,
)
from models.points import PointsBalance, PointsEntry, PointsKind, PointsSource, PointsStatus, PointsUse
from models.pool import (
    GRAMS_PER_TONNE,
    Allocation,
    AllocationState,
    Batch,
    CreditKind,
    FreeRange,
    OwnerKind,
    Project,
    ProjectOwner,
    Reservation,
    ReservationStatus,
)

__all__ = [
    "GRAMS_PER_TONNE",
    "Allocation",
    "AllocationState",
    "AuditEntry",
    "AuthToken",
    "Base",
    "Batch",
    "BenchCounter",
    "Certificate",
    "CertificateStatus",
    "Channel",
    "CreditKind",
    "Factor",
    "FactorSet",
    "Footprint",
    "FreeRange",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "Organisation",
    "OrganisationKind",
    "OrganisationMember",
    "OwnerKind",
    "PaymentEvent",
    "PeriodType",
    "PointsBalance",
    "PointsEntry",
    "PointsKind",
    "PointsSource",
    "PointsStatus",
    "PointsUse",
    "Project",
    "ProjectOwner",
    "Refund",
    "RefundStatus",
    "Reservation",
    "ReservationStatus",
    "Role",
    "User",
    "utcnow",
]
