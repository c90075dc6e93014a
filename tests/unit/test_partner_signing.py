"""The partner signature: the documented example, and what a change to any signed part does."""

import pytest

from services.rewards import partner_secrets, partner_signing

# The example of docs/rewards-and-partners.md.
SECRET = "n7Jq0Xo2m3V4b5N6c7X8z9A0s1D2f3G4h5J6k7L8p9Q"
METHOD = "POST"
PATH = "/api/v1/partner/carbon-reads"
BODY = b'{"user": "oAlice123", "scopes": ["tier"]}'
TIMESTAMP = "1795000000"
NONCE = "9f86d081884c7d65a1b2"
SIGNATURE = "eae0f43a91a3e9181ef33183e8a40d1717ab660606762106f0a2c159fdd12b8a"


def test_the_documented_example():
    assert partner_signing.canonical_string(METHOD, PATH, BODY, TIMESTAMP, NONCE) == (
        "POST\n"
        "/api/v1/partner/carbon-reads\n"
        "4cc8c22a52ec39afbb54672753dae54487c2708178f821cf8c0e9cae252b3de7\n"
        "1795000000\n"
        "9f86d081884c7d65a1b2"
    )
    assert partner_signing.sign(SECRET, METHOD, PATH, BODY, TIMESTAMP, NONCE) == SIGNATURE
    assert partner_signing.signature_matches(SECRET, METHOD, PATH, BODY, TIMESTAMP, NONCE, SIGNATURE.upper())


@pytest.mark.parametrize(
    "changed",
    [
        {"method": "GET"},
        {"path": "/api/v1/partner/carbon-reads?scopes=tier"},
        {"body": b'{"user": "oBob", "scopes": ["tier"]}'},
        {"body": b""},
        {"timestamp": "1795000001"},
        {"nonce": "9f86d081884c7d65a1b3"},
        {"secret": SECRET + "x"},
    ],
)
def test_changing_any_signed_part_breaks_the_signature(changed):
    parts = {
        "secret": SECRET,
        "method": METHOD,
        "path": PATH,
        "body": BODY,
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
