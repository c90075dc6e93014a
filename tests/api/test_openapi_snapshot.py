"""The OpenAPI description the service serves is byte for byte the published `docs/openapi.json`."""

from api.openapi_snapshot import SNAPSHOT, served


def test_the_served_description_is_the_published_one():
    assert served() == SNAPSHOT.read_bytes(), (
        "The API changed: review the change, then refresh docs/openapi.json with "
        "`.venv/bin/python -m api.openapi_snapshot`."
    )
