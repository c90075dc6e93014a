"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from models.accounts import AuthToken, Organisation, OrganisationKind, OrganisationMember, Role, User
from models.audit import AuditEntry
from models.base import Base, utcnow
from models.certificates import Certificate, CertificateStatus
from models.orders import (
    Channel,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentEvent,
    Refund,
    RefundLine,
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
from models.retirement import RetiredTonne, Retirement, RetirementStatus

__all__ = [
    "GRAMS_PER_TONNE",
    "Allocation",
    "AllocationState",
    "AuditEntry",
    "AuthToken",
    "Base",
    "Batch",
    "Certificate",
    "CertificateStatus",
    "Channel",
    "CreditKind",
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
    "PointsBalance",
    "PointsEntry",
    "PointsKind",
    "PointsSource",
    "PointsStatus",
    "PointsUse",
    "Project",
    "ProjectOwner",
    "Refund",
    "RefundLine",
    "RefundStatus",
    "Reservation",
    "ReservationStatus",
    "RetiredTonne",
    "Retirement",
    "RetirementStatus",
    "Role",
    "User",
    "utcnow",
]
