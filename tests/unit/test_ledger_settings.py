"""The ledger's keys: production refuses to start without a signing key, no profile takes a malformed
one, and the key and the holder pseudonyms come out of the settings as documented."""

from __future__ import annotations

import base64

import pytest

from config import ConfigurationError, load_settings
from services.ledger import keys
from tests.support.settings import PRODUCTION_ENV

SEED = base64.b64encode(bytes(range(32))).decode()


def refusal(profile: str, **env: str) -> str:
    base = PRODUCTION_ENV if profile == "production" else {}
    with pytest.raises(ConfigurationError) as info:
        load_settings(profile, environ={**base, **env})
    return str(info.value)


def test_production_refuses_to_start_without_a_signing_key():
    assert "LEDGER_SIGNING_KEY must be set" in refusal("production", LEDGER_SIGNING_KEY="")
    assert load_settings("production", environ=PRODUCTION_ENV)["LEDGER_SIGNING_KEY"]


@pytest.mark.parametrize("profile", ["production", "default", "testing"])
@pytest.mark.parametrize(
    ("value", "words"),
    [("not base64!", "is not base64"), (base64.b64encode(b"short").decode(), "of 32 bytes, not of 5")],
)
def test_no_profile_takes_a_malformed_signing_key(profile, value, words):
    message = refusal(profile, LEDGER_SIGNING_KEY=value)
    assert words in message and message.count("LEDGER_SIGNING_KEY") == 1


def test_an_empty_key_outside_production_is_a_key_made_for_the_process():
    assert load_settings("default", environ={})["LEDGER_SIGNING_KEY"] == ""
    keys.configure("", "", "secret")
    first = keys.public_key_bytes()
    keys.configure("", "", "secret")
    assert len(first) == 32 and keys.public_key_bytes() != first


def test_a_configured_seed_gives_its_ed25519_key_and_pseudonyms_follow_their_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    keys.configure(SEED, "", "secret-one")
    expected = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    assert keys.public_key_bytes() == expected.public_bytes(Encoding.Raw, PublicFormat.Raw)
    person, same, organisation = (
        keys.holder_pseudonym(7, None),
        keys.holder_pseudonym(7, None),
        keys.holder_pseudonym(7, 7),
    )
    assert person == same and person != organisation and len(person) == 32
    keys.configure(SEED, "", "secret-two")
    assert keys.holder_pseudonym(7, None) != person  # derived from SECRET_KEY when no key of its own
    keys.configure(SEED, "holder-key", "secret-one")
    pinned = keys.holder_pseudonym(7, None)
    keys.configure(SEED, "holder-key", "secret-two")
    assert keys.holder_pseudonym(7, None) == pinned
