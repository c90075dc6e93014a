"""Share posters: a 750 × 1334 PNG whose code, read back by a QR decoder, opens the record.

Without WeChat credentials the code is a QR code of the web page; with them it is a mini-program
code that the fake WeChat API (tests/fakes/wechat_api.py) draws around a QR code of its page and
scene, so a decoder reads what WeChat would open. wechatpy runs for real against the fake.
"""

from __future__ import annotations

import io

import pytest
import zxingcpp
from flask import current_app
from PIL import Image

from config import certificate_font_path
from models import Certificate
from models.database import read_session
from services.certificates import pdf_font, posters
from services.kernel.redis_store import get_redis
from services.neutralisation import event_disclosure, institutional
from tests.support.accounts import bearer, login_user
from tests.support.events import account_venue_electricity, create_event, offset_and_pay, organiser, publish
from tests.support.factors import publish_library
from tests.support.pool import stock_pool
from tests.support.sales import buy, offset_footprint

HOLDER = "张三丰"
PAGE = "pages/certificate/index"


def decoded(png: bytes) -> list[str]:
    """The texts of every QR code a decoder finds in the image."""
    with Image.open(io.BytesIO(png)) as image:
        return [result.text for result in zxingcpp.read_barcodes(image.convert("RGB"))]


def poster_of(client, path: str, **headers: str):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type == "image/png"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "PNG" and image.size == (750, 1334)
    return response


def certificate_code(client, holder: str = HOLDER) -> str:
    stock_pool(tonnes=2)
    token, _ = login_user(client, "poster-buyer")
    buy(client, bearer(token), 3, holder_name=holder)
    return read_session().query(Certificate).one().verification_code


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


class TestWebQRCode:
    def test_the_poster_code_opens_the_verification_page(self, client):
        code = certificate_code(client)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert decoded(response.data) == [f"{base_url()}/verify/{code}"]
        assert client.get(f"/verify/{code}").status_code == 200

    def test_the_holder_is_masked_and_the_full_name_is_nowhere_in_the_file(self, client):
        code = certificate_code(client)

        poster = posters.certificate_poster(code, base_url())
        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert poster.holder == "张*丰"
        with Image.open(io.BytesIO(response.data)) as image:
            metadata = " ".join(f"{key}={value}" for key, value in image.info.items())
        assert HOLDER not in metadata
        assert HOLDER.encode() not in response.data and HOLDER.encode("utf-16-be") not in response.data

    def test_an_unchanged_poster_is_answered_304_and_cached_publicly(self, client):
        code = certificate_code(client)
        first = poster_of(client, f"/api/v1/certificates/{code}/poster.png")
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"].startswith("public, max-age=")

        again = client.get(f"/api/v1/certificates/{code}/poster.png", headers={"If-None-Match": etag})
        other = client.get(f"/api/v1/certificates/{code}/poster.png", headers={"If-None-Match": '"stale"'})

        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
        assert other.status_code == 200 and other.headers["ETag"] == etag

    def test_a_refund_voids_the_certificate_and_changes_the_poster(self, client):
        stock_pool(tonnes=2)
        token, _ = login_user(client, "poster-buyer")
        number = buy(client, bearer(token), 3, holder_name=HOLDER)
        code = read_session().query(Certificate).one().verification_code
        etag = poster_of(client, f"/api/v1/certificates/{code}/poster.png").headers["ETag"]
        refunded = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=bearer(token))
        assert refunded.status_code == 201, refunded.json

        after = client.get(f"/api/v1/certificates/{code}/poster.png", headers={"If-None-Match": etag})

        assert after.status_code == 200 and after.headers["ETag"] != etag
        assert posters.certificate_poster(code, base_url()).stamp == "已作废"

    @pytest.mark.parametrize("code", ["NOSUCHCODE2345678ABC", "not a code!", "x" * 40])
    def test_an_unknown_code_is_404(self, client, code):
        certificate_code(client)

        response = client.get(f"/api/v1/certificates/{code}/poster.png")

        assert response.status_code == 404 and response.json["status"] == "Not Found", response.json

    def test_a_one_tap_offset_has_its_own_title(self, client):
        stock_pool(tonnes=2)
        token, _ = login_user(client, "offsetter")
        publish_library()
        offset_footprint(client, bearer(token), "陈小林")
        code = read_session().query(Certificate).one().verification_code

        poster = posters.certificate_poster(code, base_url())
        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert poster.title == "碳足迹抵消证书" and poster.holder == "陈*林"
        assert decoded(response.data) == [f"{base_url()}/verify/{code}"]


class TestClaimAndEventPosters:
    def test_a_paid_claim_poster_opens_its_public_page_and_an_unpaid_one_is_404(self, client):
        publish_library()
        project_id, _ = stock_pool(tonnes=3)
        court = organiser(client, "court", "顺昌县人民法院")
        paid = client.post(
            f"/api/v1/organisations/{court['organisation_id']}/institutional-claims",
            json={
                "project_id": project_id,
                "kind": "ecological_justice",
                "tonnes_required": "1",
                "case_number": "(2026)闽0721刑初99号",
                "court": "顺昌县人民法院",
                "defendant_name": "李四光",
            },
            headers=court["headers"],
        ).json
        number = paid["purchase"]["order"]["out_trade_no"]
        unpaid = client.post(
            f"/api/v1/organisations/{court['organisation_id']}/institutional-claims",
            json={"project_id": project_id, "kind": "tree_planting", "tonnes_required": "1"},
            headers=court["headers"],
        ).json
        assert (
            client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=court["headers"]).status_code == 200
        )
        code = paid["claim"]["public_code"]

        response = poster_of(client, f"/api/v1/public/institutional-claims/{code}/poster.png")
        poster = posters.claim_poster(institutional.public_claim(code), base_url())

        assert decoded(response.data) == [f"{base_url()}/claims/{code}"]
        assert "李*光" in poster.statement and "李四光" not in poster.statement
        assert "李四光".encode() not in response.data
        unpaid_code = unpaid["claim"]["public_code"]
        assert client.get(f"/api/v1/public/institutional-claims/{unpaid_code}/poster.png").status_code == 404

    def test_a_published_event_poster_opens_its_disclosure_and_an_unpublished_one_is_404(self, client):
        publish_library()
        project_id, _ = stock_pool(tonnes=3)
        org = organiser(client, "organiser", "海峡会展中心")
        event = create_event(client, org)
        account_venue_electricity(client, org, event["id"])
        offset_and_pay(client, org, event["id"], project_id)
        hidden = create_event(client, org, name="未公开")
        code = publish(client, org, event["id"])

        response = poster_of(client, f"/api/v1/public/events/{code}/poster.png")
        poster = posters.event_poster(event_disclosure.public_disclosure(code), base_url())

        assert decoded(response.data) == [f"{base_url()}/events/{code}/disclosure"]
        assert poster.holder == "海峡论坛" and poster.stamp == ""  # 550 kg, neutralised
        assert (poster.amount, poster.amount_unit) == ("550", "kg CO2e")
        assert client.get(f"/api/v1/public/events/{hidden['public_code']}/poster.png").status_code == 404


@pytest.fixture
def app_overrides(request):
    """Mini-program mode for the tests that take `wechat_api`; the default settings for the rest."""
    if "wechat_api" not in request.fixturenames:
        return {}
    fake = request.getfixturevalue("wechat_api")
    fake.released_pages.add(PAGE)
    # Users log in through the sandbox; only the codes come from the fake WeChat.
    return fake.settings(WECHAT_SANDBOX_LOGIN=True, **getattr(request, "param", {}))


class TestMiniProgramCode:
    def test_the_poster_code_is_a_mini_program_code_with_the_verification_code_as_scene(
        self, client, wechat_api
    ):
        code = certificate_code(client)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert decoded(response.data) == [f"page={PAGE}&scene={code}"]
        ((_, params),) = [r for r in wechat_api.requests if r[0] == "/wxa/getwxacodeunlimit"]
        assert params["access_token"] in wechat_api.issued_tokens

    def test_the_code_is_asked_of_wechat_once_then_served_from_redis(self, client, wechat_api):
        code = certificate_code(client)

        first = poster_of(client, f"/api/v1/certificates/{code}/poster.png")
        second = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert wechat_api.count("/wxa/getwxacodeunlimit") == 1
        assert wechat_api.count("/cgi-bin/token") == 1
        assert first.headers["ETag"] == second.headers["ETag"]
        assert decoded(second.data) == [f"page={PAGE}&scene={code}"]
        keys = [key.decode() for key in get_redis().keys("*")]
        assert any(key.endswith(f":{code}") for key in keys)
        secrets = [wechat_api.secret, *wechat_api.issued_tokens]
        assert not [key for key in keys for secret in secrets if secret in key]

    @pytest.mark.parametrize("failure", ["errcode", "http_500", "hang"])
    def test_when_wechat_fails_the_poster_falls_back_to_the_web_qr_code(
        self, client, wechat_api, failure, caplog
    ):
        code = certificate_code(client)
        if failure == "errcode":
            wechat_api.fail_codes_with(45009, "reach max api daily quota limit")
        else:
            wechat_api.fail_with(failure)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")
        again = poster_of(client, f"/api/v1/certificates/{code}/poster.png")
        wechat_api.fail_with(None)

        assert decoded(response.data) == [f"{base_url()}/verify/{code}"]
        assert decoded(again.data) == decoded(response.data)
        # After a failure WeChat is left alone for a while: one try, not one per poster.
        asked = wechat_api.count("/wxa/getwxacodeunlimit") + wechat_api.count("/cgi-bin/token")
        assert 1 <= asked <= 2
        assert "getwxacodeunlimit" in caplog.text and wechat_api.secret not in caplog.text
        assert not [token for token in wechat_api.issued_tokens if token in caplog.text]

    def test_an_unpublished_page_is_refused_by_wechat_in_release_and_gives_the_qr_code(
        self, client, wechat_api
    ):
        wechat_api.released_pages.clear()
        code = certificate_code(client)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert decoded(response.data) == [f"{base_url()}/verify/{code}"]
        assert wechat_api.count("/wxa/getwxacodeunlimit") == 1

    @pytest.mark.parametrize("app_overrides", [{"WECHAT_CODE_ENV_VERSION": "trial"}], indirect=True)
    def test_a_trial_version_code_skips_the_published_page_check(self, client, wechat_api):
        wechat_api.released_pages.clear()
        code = certificate_code(client)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert decoded(response.data) == [f"page={PAGE}&scene={code}"]

    @pytest.mark.parametrize("app_overrides", [{"WECHAT_CERTIFICATE_PAGE": ""}], indirect=True)
    def test_no_page_for_the_kind_means_the_web_qr_code_without_asking_wechat(self, client, wechat_api):
        code = certificate_code(client)

        response = poster_of(client, f"/api/v1/certificates/{code}/poster.png")

        assert decoded(response.data) == [f"{base_url()}/verify/{code}"]
        assert wechat_api.count("/wxa/getwxacodeunlimit") == 0


class TestWithoutTheFont:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"CERTIFICATE_FONT_PATH": str(tmp_path / "no-such-font.ttc")}

    @pytest.fixture(autouse=True)
    def restore_font(self):
        yield
        pdf_font.configure(certificate_font_path(""))

    def test_a_poster_without_its_font_answers_503_and_says_why(self, client):
        code = certificate_code(client)

        answer = client.get(f"/api/v1/certificates/{code}/poster.png")

        assert answer.status_code == 503, answer.data[:200]
        assert answer.json["error"] == "certificate_font_missing"
        assert "no-such-font" not in answer.json["message"]
