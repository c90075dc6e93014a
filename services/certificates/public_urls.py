"""The addresses of public records, as printed on certificates and encoded in their QR codes.

Each is built from the record's random public code, never from a sequential id or a number that
names an order, so a printed address opens that record and no other.
"""

from __future__ import annotations


def _join(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}"


def certificate_verification_url(base_url: str, verification_code: str) -> str:
    """The mobile verification page of a certificate."""
    return _join(base_url, f"/verify/{verification_code}")


def event_disclosure_url(base_url: str, public_code: str) -> str:
    """The mobile disclosure page of a published event."""
    return _join(base_url, f"/events/{public_code}/disclosure")


def claim_record_url(base_url: str, public_code: str) -> str:
    """The mobile page of a paid institutional claim's public record (its JSON is
    `/api/v1/public/institutional-claims/<code>`)."""
    return _join(base_url, f"/claims/{public_code}")


def adoption_record_url(base_url: str, public_code: str) -> str:
    """The mobile page of a paid tree adoption (its JSON is `/api/v1/public/adoptions/<code>`)."""
    return _join(base_url, f"/adoptions/{public_code}")


def land_compensation_record_url(base_url: str, public_code: str) -> str:
    """The mobile page of a paid land-use compensation (its JSON is
    `/api/v1/public/land-compensations/<code>`)."""
    return _join(base_url, f"/land-compensations/{public_code}")
