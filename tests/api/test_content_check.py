"""WeChat's content security check (msgSecCheck v2) of what users write for others to see, with
WeChat faked at the wire: risky is 422 on every field, a pass is public at once, "review" and an
unreachable WeChat keep the text private until the worker's re-check publishes or withholds it,
and an admin's text is exempt."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Channel, ContentCheck, ContentStatus, Order, OrderStatus, utcnow
from models.database import unit_of_work
from services.accounts import content_check
from tests.support.accounts import bearer, login_admin
from tests.support.events import create_event, organiser, publish
from tests.support.factors import publish_library
from tests.support.forestry import adopt, memorial_forest
from tests.support.pool import stock_pool

_logins = itertools.count(1)


@pytest.fixture
def app_overrides(wechat_api):
    return wechat_api.settings()


def login(client, wechat_api, code=None):
    """A mini-program user logged in through the fake WeChat (so msgSecCheck knows their openid)."""
    code = code or f"login-{next(_logins)}"
    wechat_api.add_code(code, openid=f"o-{code}", session_key="c2Vzc2lvbi1rZXk=")
    response = client.post("/api/v1/auth/login", json={"code": code})
    assert response.status_code == 200, response.json
    return bearer(response.json["token"]), response.json["user"]


def rename(client, headers, name):
    return client.patch("/api/v1/me", json={"display_name": name}, headers=headers)


def recheck(minutes=10):
    return content_check.recheck_due(now=utcnow() + timedelta(minutes=minutes))


def rows():
    with unit_of_work() as session:
        return [
            (r.kind, r.subject, r.status, r.suggest, r.label) for r in session.scalars(select(ContentCheck))
        ]


def fulfilled_order(user_id, grams=1_000):
    """An offset order as the purchase flow leaves it, so the user is on the offset boards."""
    with unit_of_work() as session:
        session.add(
            Order(
                out_trade_no=f"CC{user_id:020d}",
                user_id=user_id,
                channel=Channel.ONE_YUAN,
                status=OrderStatus.FULFILLED,
                grams=grams,
                amount_fen=grams // 100,
                provider="sandbox",
                expires_at=utcnow(),
                fulfilled_at=utcnow(),
            )
        )


def ranked_names(client, headers):
    response = client.get(
        "/api/v1/rankings", query_string={"board": "offsets", "period": "all"}, headers=headers
    )
    assert response.status_code == 200, response.json
    return [entry["display_name"] for entry in response.json]


# -- display names -----------------------------------------------------------------------------------


def test_a_risky_display_name_is_422_naming_the_field_and_the_label(client, wechat_api):
    headers, _user = login(client, wechat_api)
    wechat_api.judge_content("傻瓜", "risky", 20003)

    response = rename(client, headers, "大傻瓜")

    assert response.status_code == 422
    assert response.json["error"] == "content_refused"
    assert "abusive" in response.json["message"]
    assert "abusive" in response.json["errors"]["display_name"][0]
    assert client.get("/api/v1/me", headers=headers).json["display_name"] == ""
    (checked,) = wechat_api.sec_checks
    assert checked["content"] == "大傻瓜" and checked["version"] == 2 and checked["scene"] == 1
    assert checked["openid"].startswith("o-login-")


@pytest.mark.parametrize(
    ("label", "words"),
    [(20002, "pornographic"), (10001, "advertising"), (20006, "illegal"), (99999, "otherwise")],
)
def test_each_label_is_named_in_words(client, wechat_api, label, words):
    headers, _user = login(client, wechat_api)
    wechat_api.judge_content("坏词", "risky", label)

    response = rename(client, headers, "坏词")

    assert response.status_code == 422 and words in response.json["message"]


def test_a_passing_display_name_is_public_at_once(client, wechat_api):
    headers, user = login(client, wechat_api)
    fulfilled_order(user["id"])

    response = rename(client, headers, "张三丰")

    assert response.status_code == 200
    assert response.json["display_name"] == "张三丰" and response.json["display_name_status"] == "pass"
    assert ranked_names(client, headers) == ["张*丰"]
    assert rows() == []


def test_an_unreachable_wechat_keeps_the_name_private_until_the_recheck_publishes_it(client, wechat_api):
    headers, user = login(client, wechat_api)
    fulfilled_order(user["id"])
    wechat_api.answer_sec_check_with("http_500")

    response = rename(client, headers, "张三丰")

    assert response.status_code == 200  # stored, not refused
    assert response.json["display_name"] == "张三丰"  # the author sees their own text
    assert response.json["display_name_status"] == "pending"
    assert ranked_names(client, headers) == ["微**户"]  # the rankings do not
    assert rows() == [("display_name", str(user["id"]), ContentStatus.PENDING, None, None)]

    assert content_check.recheck_due().published == 0  # not due yet
    run = recheck()

    assert run.published == 1
    assert rows() == []
    assert client.get("/api/v1/me", headers=headers).json["display_name_status"] == "pass"
    assert ranked_names(client, headers) == ["张*丰"]


@pytest.mark.parametrize("failure", [-1, "hang", 61010])
def test_busy_timeouts_and_other_errors_keep_the_text_private(client, wechat_api, failure):
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with(failure)

    response = rename(client, headers, "李四")

    assert response.status_code == 200 and response.json["display_name_status"] == "pending"


def test_after_a_failure_wechat_is_not_asked_again_for_a_minute(client, wechat_api):
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    assert rename(client, headers, "李四").json["display_name_status"] == "pending"
    asked = wechat_api.count("/wxa/msg_sec_check")

    again = rename(client, headers, "王五")

    assert again.json["display_name_status"] == "pending"
    assert wechat_api.count("/wxa/msg_sec_check") == asked
    # The worker is not held back by it: its own backoff spaces its calls.
    assert recheck().published == 1


def test_one_users_refused_openid_does_not_pause_the_checks_of_others(client, wechat_api):
    headers, _user = login(client, wechat_api)
    other, _ = login(client, wechat_api)
    wechat_api.answer_sec_check_with(61010)  # not in the mini-program within two hours
    assert rename(client, headers, "李四").json["display_name_status"] == "pending"

    assert rename(client, other, "王五").json["display_name_status"] == "pass"


def test_a_review_answer_is_kept_private_and_rechecked(client, wechat_api):
    headers, user = login(client, wechat_api)
    wechat_api.judge_content("可疑", "review", 21000)

    response = rename(client, headers, "可疑的名字")

    assert response.status_code == 200 and response.json["display_name_status"] == "pending"
    assert rows() == [("display_name", str(user["id"]), ContentStatus.PENDING, "review", 21000)]
    assert recheck().still_pending == 1  # WeChat still says review
    assert recheck(minutes=10).still_pending == 0  # backing off: not due again yet

    wechat_api.content_verdicts.clear()  # a human at WeChat cleared it
    assert recheck(minutes=60).published == 1
    assert client.get("/api/v1/me", headers=headers).json["display_name_status"] == "pass"


def test_a_recheck_that_finds_it_risky_withholds_it_for_good(client, wechat_api):
    headers, user = login(client, wechat_api)
    fulfilled_order(user["id"])
    wechat_api.answer_sec_check_with("http_500")
    rename(client, headers, "骂人的话")
    wechat_api.judge_content("骂人", "risky", 20003)

    assert recheck().withheld == 1

    assert rows() == [("display_name", str(user["id"]), ContentStatus.RISKY, "risky", 20003)]
    assert client.get("/api/v1/me", headers=headers).json["display_name_status"] == "risky"
    assert ranked_names(client, headers) == ["微**户"]
    assert recheck(minutes=600) == content_check.RecheckRun()  # never asked again
    # Writing another name starts afresh.
    assert rename(client, headers, "好名字").json["display_name_status"] == "pass"
    assert rows() == []


def test_the_recheck_gives_up_after_its_attempts_and_the_text_stays_private(app, client, wechat_api):
    content_check.configure(
        content_check.ContentCheckSettings.from_config({**app.config, "CONTENT_CHECK_MAX_ATTEMPTS": 2})
    )
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500", "http_500")
    rename(client, headers, "李四")

    assert recheck().still_pending == 1
    assert recheck(minutes=600) == content_check.RecheckRun()
    assert client.get("/api/v1/me", headers=headers).json["display_name_status"] == "pending"


def test_a_text_changed_during_the_recheck_keeps_the_newer_verdict(client, wechat_api):
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    rename(client, headers, "旧名字")
    with unit_of_work() as session:  # a newer name written behind the recheck's back
        session.execute(
            ContentCheck.__table__.update().values(digest=content_check.digest("新名字"))  # type: ignore[attr-defined]
        )

    assert recheck().skipped == 1
    assert rows()[0][2] == ContentStatus.PENDING


def test_an_admins_text_is_exempt(client, wechat_api):
    token, _admin = login_admin(client)
    wechat_api.judge_content("傻瓜", "risky", 20003)

    response = rename(client, bearer(token), "傻瓜管理员")

    assert response.status_code == 200 and response.json["display_name_status"] == "pass"
    assert wechat_api.sec_checks == []


def test_clearing_a_name_needs_no_check(client, wechat_api):
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    rename(client, headers, "李四")

    response = rename(client, headers, "")

    assert response.json["display_name_status"] == "pass" and rows() == []


# -- holder names: orders, the one-tap offset, tree adoptions -----------------------------------------


def test_a_risky_holder_name_on_an_order_is_422_and_no_order_is_placed(client, wechat_api):
    stock_pool()
    headers, _user = login(client, wechat_api)
    wechat_api.judge_content("傻瓜", "risky", 20003)

    response = client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": 1, "holder_name": "傻瓜"}, headers=headers
    )

    assert response.status_code == 422 and response.json["error"] == "content_refused"
    assert "holder_name" in response.json["errors"]
    assert client.get("/api/v1/orders", headers=headers).json == []


def test_a_pending_holder_name_shows_a_placeholder_on_the_public_certificate_until_it_passes(
    client, wechat_api
):
    stock_pool()
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("hang")
    placed = client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": 1, "holder_name": "陈小林"}, headers=headers
    )
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    assert rows() == [("holder_name", number, ContentStatus.PENDING, None, None)]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled"
    (mine,) = client.get("/api/v1/me/certificates", headers=headers).json
    assert mine["holder_name"] == "陈小林"  # the holder's own copy

    public = client.get(f"/api/v1/certificates/{mine['verification_code']}").json
    page = client.get(f"/verify/{mine['verification_code']}").get_data(as_text=True)
    assert public["holder"] == content_check.PLACEHOLDER
    assert "陈*林" not in page and content_check.PLACEHOLDER in page

    assert recheck().published == 1
    assert client.get(f"/api/v1/certificates/{mine['verification_code']}").json["holder"] == "陈*林"


def test_the_check_of_an_order_never_recorded_is_dropped_by_the_recheck(client, wechat_api):
    stock_pool(tonnes=1)  # 100 units
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    refused = client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": 101, "holder_name": "陈小林"}, headers=headers
    )
    assert refused.status_code == 409, refused.json
    assert [row[0] for row in rows()] == ["holder_name"]  # written before the order, which failed

    assert recheck().skipped == 1
    assert rows() == []


def test_a_risky_holder_name_on_the_one_tap_offset_is_422(client, wechat_api):
    from tests.api.test_footprints import MONTH

    publish_library()
    stock_pool()
    headers, _user = login(client, wechat_api)
    footprint = client.post("/api/v1/footprints/calculate", json=MONTH, headers=headers).json
    wechat_api.judge_content("傻瓜", "risky", 20003)

    response = client.post(
        f"/api/v1/me/footprints/{footprint['id']}/offset", json={"holder_name": "傻瓜"}, headers=headers
    )

    assert response.status_code == 422 and response.json["error"] == "content_refused"
    ok = client.post(
        f"/api/v1/me/footprints/{footprint['id']}/offset", json={"holder_name": "陈小林"}, headers=headers
    )
    assert ok.status_code == 201 and ok.json["order"]["holder_name"] == "陈小林"


def test_a_tree_adoption_checks_its_holder_name_and_hides_it_while_pending(client, wechat_api):
    admin_token, _ = login_admin(client)
    forest = memorial_forest(client, bearer(admin_token))
    headers, _user = login(client, wechat_api)
    wechat_api.judge_content("傻瓜", "risky", 20003)

    refused = adopt(client, headers, plot_id=forest["plot"]["id"], trees=1, holder_name="傻瓜")
    assert refused.status_code == 422 and refused.json["error"] == "content_refused"

    wechat_api.answer_sec_check_with(-1)
    placed = adopt(client, headers, plot_id=forest["plot"]["id"], trees=1, holder_name="陈小林")
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
    assert paid.status_code == 200, paid.json
    code = placed.json["adoption"]["public_code"]

    assert client.get(f"/api/v1/public/adoptions/{code}").json["holder"] == content_check.PLACEHOLDER
    assert recheck().published == 1
    assert client.get(f"/api/v1/public/adoptions/{code}").json["holder"] == "陈*林"


# -- event names ---------------------------------------------------------------------------------------


def event_organiser(client, wechat_api, organisation="海峡会展"):
    publish_library()  # events take their factors from the published library
    code = f"organiser-{next(_logins)}"
    wechat_api.add_code(code, openid=f"o-{code}", session_key="c2Vzc2lvbi1rZXk=")
    return organiser(client, code, organisation)


def test_a_risky_event_name_is_422_on_create_and_on_rename(client, wechat_api):
    who = event_organiser(client, wechat_api)
    wechat_api.judge_content("赌博", "risky", 20006)
    today = utcnow().date()
    plan = {
        "name": "赌博大会",
        "start_date": (today - timedelta(days=2)).isoformat(),
        "end_date": (today - timedelta(days=1)).isoformat(),
        "venue_city": "福州",
    }

    created = client.post(
        f"/api/v1/organisations/{who['organisation_id']}/events", json=plan, headers=who["headers"]
    )
    assert created.status_code == 422 and "illegal" in created.json["errors"]["name"][0]

    event = create_event(client, who)
    renamed = client.patch(f"/api/v1/events/{event['id']}", json={"name": "赌博之夜"}, headers=who["headers"])
    assert renamed.status_code == 422 and renamed.json["error"] == "content_refused"


def test_a_pending_event_name_is_hidden_from_the_disclosure_until_the_recheck(client, wechat_api):
    who = event_organiser(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    event = create_event(client, who, name="海峡青年论坛")
    detail = client.get(f"/api/v1/events/{event['id']}", headers=who["headers"]).json
    assert detail["event"]["name"] == "海峡青年论坛" and detail["name_status"] == "pending"
    code = publish(client, who, event["id"])

    disclosure = client.get(f"/api/v1/public/events/{code}")
    assert disclosure.status_code == 200, disclosure.json
    assert disclosure.json["name"] == content_check.PLACEHOLDER
    page = client.get(f"/events/{code}/disclosure").get_data(as_text=True)
    assert "海峡青年论坛" not in page

    assert recheck().published == 1
    assert client.get(f"/api/v1/public/events/{code}").json["name"] == "海峡青年论坛"
    assert "海峡青年论坛" in client.get(f"/events/{code}/disclosure").get_data(as_text=True)


def test_an_admin_names_an_event_without_a_check(client, wechat_api):
    who = event_organiser(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    event = create_event(client, who, name="海峡青年论坛")
    wechat_api.judge_content("论坛", "risky", 20001)
    asked = len(wechat_api.sec_checks)

    renamed = client.patch(f"/api/v1/events/{event['id']}", json={"name": "海峡论坛"}, headers=who["admin"])

    assert renamed.status_code == 200 and renamed.json["name_status"] == "pass"
    assert len(wechat_api.sec_checks) == asked and rows() == []


def test_organisation_names_are_set_by_admins_and_never_checked(client, wechat_api):
    wechat_api.judge_content("会展", "risky", 20003)

    event_organiser(client, wechat_api, organisation="海峡会展")

    assert wechat_api.sec_checks == []


# -- the embedded default ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"WECHAT_SANDBOX_LOGIN": True}, {"WECHAT_APPID": "", "WECHAT_SECRET": ""}],
    ids=["sandbox login", "no credentials"],
)
def test_without_wechat_every_text_passes_locally(wechat_api, overrides):
    settings = content_check.ContentCheckSettings.from_config(
        {**wechat_api.settings(), "CONTENT_CHECK_MAX_ATTEMPTS": 20, **overrides}
    )
    content_check.configure(settings)
    try:
        assert content_check.screen(None, "display_name", "傻瓜") == content_check.PASSED
    finally:
        content_check.configure(content_check.ContentCheckSettings())
    assert wechat_api.count("/wxa/msg_sec_check") == 0


# -- on PostgreSQL ---------------------------------------------------------------------------------------


def test_on_postgres_pending_texts_are_hidden_rechecked_and_cleared_by_a_deletion(pg_client, wechat_api):
    from services.personal_data import erasure

    client = pg_client
    stock_pool()
    headers, _user = login(client, wechat_api)
    wechat_api.answer_sec_check_with("http_500")
    assert rename(client, headers, "张三丰").json["display_name_status"] == "pending"
    placed = client.post(
        "/api/v1/orders", json={"product": "one_yuan", "units": 1, "holder_name": "陈小林"}, headers=headers
    )
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers).status_code == 200
    (mine,) = client.get("/api/v1/me/certificates", headers=headers).json
    verify = f"/api/v1/certificates/{mine['verification_code']}"
    assert client.get(verify).json["holder"] == content_check.PLACEHOLDER
    assert ranked_names(client, headers) == ["微**户"]

    wechat_api.judge_content("陈小林", "risky", 20003)
    run = recheck()

    assert (run.published, run.withheld) == (1, 1)
    assert ranked_names(client, headers) == ["张*丰"]
    assert client.get(verify).json["holder"] == content_check.PLACEHOLDER
    assert rows() == [("holder_name", number, ContentStatus.RISKY, "risky", 20003)]

    assert client.post("/api/v1/me/deletion", json={"confirm": True}, headers=headers).status_code == 202
    assert erasure.carry_out_due(30, now=utcnow() + timedelta(days=60)).completed == 1
    assert rows() == []  # the pseudonym is the service's own text
    assert client.get(verify).json["holder"] == "已***户"
