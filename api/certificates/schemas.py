"""Schemas of certificates and their public verification."""

import marshmallow as ma

from api.fields import Day, Integer
from api.ledger.schemas import LedgerHeadSchema


class ClaimSchema(ma.Schema):
    project_id = Integer()
    project_code = ma.fields.String()
    project_name = ma.fields.String()
    kind = ma.fields.String()
    owner = ma.fields.String(allow_none=True)
    batch_id = Integer()
    vintage = Integer()
    serial = ma.fields.String(metadata={"description": "Registry serial of the tonne"})
    from_g = Integer(metadata={"description": "First gram of the tonne covered"})
    to_g = Integer(metadata={"description": "Last gram of the tonne covered"})
    grams = Integer()
    registry_url = ma.fields.String()


class CertificateSchema(ma.Schema):
    number = ma.fields.String()
    verification_code = ma.fields.String()
    holder_name = ma.fields.String()
    grams = Integer()
    status = ma.fields.Function(lambda c: c.status.value)
    issued_at = ma.fields.DateTime()
    voided_at = ma.fields.DateTime(allow_none=True)
    claims = ma.fields.List(ma.fields.Nested(ClaimSchema))


class RegistryRetirementSchema(ma.Schema):
    registry_ref = ma.fields.String(metadata={"description": "The registry's reference of the retirement"})
    registry_url = ma.fields.String(
        metadata={"description": "Where the registry publishes it (may be empty)"}
    )
    retired_on = Day(metadata={"description": "Date of the retirement at the registry"})


class VerifiedClaimSchema(ClaimSchema):
    retirement = ma.fields.String(metadata={"description": "`retired` at the registry, or `pending`"})
    registry_retirement = ma.fields.Nested(
        RegistryRetirementSchema,
        allow_none=True,
        metadata={"description": "The registry's record of the retirement; null while pending"},
    )


class CertificateLedgerSchema(ma.Schema):
    log_index = Integer(metadata={"description": "Index of the certificate's entry in the public ledger"})
    entry = ma.fields.String(metadata={"description": "The entry: canonical JSON, as the ledger holds it"})
    leaf_hash = ma.fields.String(metadata={"description": "SHA-256(0x00 ‖ entry), hex"})
    head = ma.fields.Nested(
        LedgerHeadSchema,
        allow_none=True,
        metadata={"description": "The latest signed tree head; null until a head covers the entry"},
    )
    audit_path = ma.fields.List(
        ma.fields.String(),
        allow_none=True,
        metadata={
            "description": "Inclusion proof of the entry in the head's tree (RFC 6962), hex, bottom up"
        },
    )


class VerificationSchema(ma.Schema):
    valid = ma.fields.Boolean(metadata={"description": "False for a void or superseded certificate"})
    status = ma.fields.String()
    number = ma.fields.String()
    holder = ma.fields.String(metadata={"description": "Holder name, masked"})
    grams = Integer()
    issued_at = ma.fields.DateTime()
    voided_at = ma.fields.DateTime(allow_none=True)
    replaced_by = ma.fields.String(
        allow_none=True, metadata={"description": "Verification code of the reissue"}
    )
    claims = ma.fields.List(ma.fields.Nested(VerifiedClaimSchema))
    ledger = ma.fields.Nested(
        CertificateLedgerSchema,
        allow_none=True,
        metadata={
            "description": "The public ledger's record of the issue; null for a certificate older than the ledger"
        },
    )
