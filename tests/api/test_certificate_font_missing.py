"""Without its font a certificate PDF is a clear 503, never a page of empty boxes nor a 500."""

from __future__ import annotations

import pytest

from config import certificate_font_path
from services.certificates import pdf_font
from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool
from tests.support.sales import buy


@pytest.fixture
def app_overrides(tmp_path) -> dict[str, object]:
    return {"CERTIFICATE_FONT_PATH": str(tmp_path / "no-such-font.ttc")}


@pytest.fixture(autouse=True)
def restore_font():
    yield
    pdf_font.configure(certificate_font_path(""))


def test_a_certificate_pdf_without_its_font_answers_503_and_says_why(client):
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "font-buyer")[0])
    buy(client, buyer, 2)
    (certificate,) = client.get("/api/v1/me/certificates", headers=buyer).json
    answer = client.get(f"/api/v1/me/certificates/{certificate['number']}/pdf", headers=buyer)
    assert answer.status_code == 503, answer.data[:200]
    assert answer.json["error"] == "certificate_font_missing"
    assert "CERTIFICATE_FONT_PATH" in answer.json["message"]
    assert "no-such-font" not in answer.json["message"]  # the server's paths stay in its log
