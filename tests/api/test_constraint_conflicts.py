"""A write refused by a database constraint answers 409, in one place, never 500."""

from sqlalchemy import insert

from models import User
from models.database import unit_of_work


def test_a_unique_constraint_refusal_is_a_conflict(app, client):
    def duplicate_user():
        with unit_of_work() as session:
            for _ in range(2):
                session.execute(insert(User).values(openid="o-duplicate", display_name="x"))
        return {}

    app.add_url_rule("/_test/duplicate", "test_duplicate", duplicate_user, methods=["POST"])

    response = client.post("/_test/duplicate")

    assert response.status_code == 409
    assert response.json["error"] == "conflict"
    assert "o-duplicate" not in response.get_data(as_text=True)
