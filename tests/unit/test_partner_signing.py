"""The partner signature: the documented example, and what a change to any signed part does."""

import pytest

from services import partner_secrets, partner_signing

# The example of docs/rewards-and-partners.md.
SECRET = "n7Jq0Xo2m3V4b5N6c7X8z9A0s1D2f3G4h5J6k7L8p9Q"
PATH = "/api/v1/partner/users/oAlice123/carbon?scopes=tier"
TIMESTAMP = "1795000000"
NONCE = "9f86d081884c7d65a1b2"
SIGNATURE = "fa9c8ab52c357e70e1848a2fa4f7f0f382e4723711311752c4380a661776dcd6"


def test_the_documented_example():
    assert partner_signing.canonical_string("GET", PATH, b"", TIMESTAMP, NONCE) == (
        "GET\n"
        "/api/v1/partner/users/oAlice123/carbon?scopes=tier\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "1795000000\n"
        "9f86d081884c7d65a1b2"
    )
    assert partner_signing.sign(SECRET, "GET", PATH, b"", TIMESTAMP, NONCE) == SIGNATURE
    assert partner_signing.signature_matches(SECRET, "GET", PATH, b"", TIMESTAMP, NONCE, SIGNATURE.upper())


@pytest.mark.parametrize(
    "changed",
    [
        {"method": "POST"},
        {"path": "/api/v1/partner/users/oBob/carbon?scopes=tier"},
        {"body": b"{}"},
        {"timestamp": "1795000001"},
        {"nonce": "9f86d081884c7d65a1b3"},
        {"secret": SECRET + "x"},
    ],
)
def test_changing_any_signed_part_breaks_the_signature(changed):
    parts = {
        "secret": SECRET,
        "method": "GET",
        "path": PATH,
        "body": b"",
        "timestamp": TIMESTAMP,
        "nonce": NONCE,
    }
    parts.update(changed)
    assert not partner_signing.signature_matches(signature=SIGNATURE, **parts)


def test_secrets_round_trip_only_under_the_same_secret_key():
    token = partner_secrets.encrypt(SECRET, "key-one")
    assert SECRET not in token
    assert partner_secrets.decrypt(token, "key-one") == SECRET
    with pytest.raises(partner_secrets.UnreadableSecret):
        partner_secrets.decrypt(token, "key-two")
