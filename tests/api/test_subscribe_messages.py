"""Subscribe messages: what the mini-program reports the user accepted, and the messages sent.

The user reports the results of `wx.requestSubscribeMessage` (`/api/v1/me/subscriptions`); each
accept allows one message. The job (`worker.tasks.send_subscribe_messages`) finds what happened
and sends through wechatpy to the fake WeChat API (tests/fakes/wechat_api.py), which checks each
field against WeChat's limits: once per event and user, retried while WeChat is busy, dropped when
the user refused, skipped without credentials.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import MessageStatus, Order, PointsEntry, SubscribeAllowance, SubscribeMessage, utcnow
from models.database import read_session
from services.kernel.beijing_time import beijing_date
from services.kernel.redis_store import get_redis
from services.notifications import message_settings
from services.notifications.message_sending import scan_and_send
from tests.support.accounts import bearer, login_user
from tests.support.events import account_venue_electricity, create_event, offset_and_pay, organiser
from tests.support.factors import publish_library
from tests.support.pool import stock_pool
from tests.support.sales import buy

CERTIFICATE = "7tVbX_certificate-issued_Q2mF9aW1yE"
REFUND = "Hq3Lp_refund-done_xK8sT2bV0nR5"
POINTS = "mN4cZ_points-expiring_J6dW1qY8uP"
EVENT = "Wr2Yh_event-neutralised_aB7eL3kM9"
BANK = "pS5oT_bank-transfer-expiring_cV1g"
TEMPLATES = {
    "SUBSCRIBE_TEMPLATE_CERTIFICATE_ISSUED": CERTIFICATE,
    "SUBSCRIBE_TEMPLATE_REFUND_DONE": REFUND,
    "SUBSCRIBE_TEMPLATE_POINTS_EXPIRING": POINTS,
    "SUBSCRIBE_TEMPLATE_EVENT_NEUTRALISED": EVENT,
    "SUBSCRIBE_TEMPLATE_BANK_TRANSFER_EXPIRING": BANK,
}
SEND = "/cgi-bin/message/subscribe/send"
URL = "/api/v1/me/subscriptions"


@pytest.fixture
def app_overrides(request):
    """Templates on; with `wechat_api`, real logins and sends to the fake; otherwise the sandbox."""
    extra = {**TEMPLATES, **getattr(request, "param", {})}
    if "wechat_api" not in request.fixturenames:
        return extra
    return request.getfixturevalue("wechat_api").settings(**extra)


def person(client, wechat_api, code: str, openid: str) -> dict[str, str]:
    """A user logged in through WeChat (the fake) with `openid`; gives their headers."""
    wechat_api.add_code(code, openid=openid, session_key="c2Vzc2lvbi1rZXk=")
    token, _ = login_user(client, code)
    return bearer(token)


def accept(client, headers, *templates: str, result: str = "accept"):
    response = client.post(URL, json={"results": dict.fromkeys(templates, result)}, headers=headers)
    assert response.status_code == 200, response.json
    return {item["template_id"]: item["remaining"] for item in response.json}


def run(now=None):
    return scan_and_send(message_settings.current(), now)


def messages() -> list[SubscribeMessage]:
    session = read_session()
    session.expire_all()
    return list(session.scalars(select(SubscribeMessage).order_by(SubscribeMessage.id)))


def remaining(template_id: str) -> list[int]:
    session = read_session()
    session.expire_all()
    return list(
        session.scalars(
            select(SubscribeAllowance.remaining).where(SubscribeAllowance.template_id == template_id)
        )
    )


class TestReportingResults:
    def test_each_accept_allows_one_message_and_the_list_shows_what_is_left(self, client):
        token, _ = login_user(client, "subscriber")
        me = bearer(token)

        accept(client, me, CERTIFICATE, REFUND)
        counted = accept(client, me, CERTIFICATE)
        accept(client, me, REFUND, POINTS, result="reject")

        assert counted[CERTIFICATE] == 2 and counted[REFUND] == 1
        listed = client.get(URL, headers=me)
        assert listed.status_code == 200
        assert json.loads(listed.headers["X-Pagination"])["total"] == 5
        by_template = {item["template_id"]: item for item in listed.json}
        assert by_template[CERTIFICATE] == {
            "kind": "certificate_issued",
            "template_id": CERTIFICATE,
            "remaining": 2,
            "last_result": "accept",
        }
        assert (by_template[REFUND]["remaining"], by_template[REFUND]["last_result"]) == (1, "reject")
        assert (by_template[POINTS]["remaining"], by_template[POINTS]["last_result"]) == (0, "reject")
        assert by_template[EVENT]["last_result"] is None
        page = client.get(URL, query_string={"page": 2, "page_size": 2}, headers=me)
        assert [item["kind"] for item in page.json] == ["points_expiring", "event_neutralised"]
        other, _ = login_user(client, "someone-else")
        assert {item["remaining"] for item in client.get(URL, headers=bearer(other)).json} == {0}

    def test_what_one_user_may_hold_of_a_template_is_bounded(self, client):
        token, _ = login_user(client, "eager")
        for _ in range(60):
            counted = accept(client, bearer(token), CERTIFICATE)
        assert counted[CERTIFICATE] == 50

    @pytest.mark.parametrize(
        ("results", "field"),
        [
            ({"not-a-template-of-ours": "accept"}, "not-a-template-of-ours"),
            ({CERTIFICATE: "accept", "unknown": "reject"}, "unknown"),
            ({CERTIFICATE: "maybe"}, None),
            ({f"t{n}": "accept" for n in range(11)}, None),
            ({}, None),
            ({"x" * 129: "accept"}, None),
        ],
    )
    def test_a_template_not_configured_or_too_many_results_is_refused_whole(self, client, results, field):
        token, _ = login_user(client, "careless")

        response = client.post(URL, json={"results": results}, headers=bearer(token))

        assert response.status_code == 422, response.json
        assert "results" in json.dumps(response.json["errors"])
        if field:
            assert field in json.dumps(response.json["errors"], ensure_ascii=False)
        assert remaining(CERTIFICATE) == []

    def test_no_results_or_a_list_instead_is_refused(self, client):
        token, _ = login_user(client, "sloppy")
        for body in ({}, {"results": [CERTIFICATE]}, {"results": {CERTIFICATE: 1}}):
            assert client.post(URL, json=body, headers=bearer(token)).status_code == 422, body

    def test_without_a_token_nothing_is_read_or_counted(self, client):
        assert client.get(URL).status_code == 401
        assert client.post(URL, json={"results": {CERTIFICATE: "accept"}}).status_code == 401
        assert remaining(CERTIFICATE) == []

    @pytest.mark.parametrize("app_overrides", [dict.fromkeys(TEMPLATES, "")], indirect=True)
    def test_with_every_template_off_there_is_nothing_to_subscribe_to(self, client):
        token, _ = login_user(client, "nobody-asks")
        assert client.get(URL, headers=bearer(token)).json == []
        refused = client.post(URL, json={"results": {CERTIFICATE: "accept"}}, headers=bearer(token))
        assert refused.status_code == 422


class TestSending:
    def test_a_certificate_issued_sends_one_message_once_however_often_the_job_runs(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 3)

        first = run()
        second = run()

        assert (first.enqueued, first.sent) == (1, 1)
        assert (second.enqueued, second.sent) == (0, 0)
        (sent,) = wechat_api.subscribe_messages
        (message,) = messages()
        code = client.get("/api/v1/me/certificates", headers=buyer).json[0]["verification_code"]
        assert sent["touser"] == "o-buyer" and sent["template_id"] == CERTIFICATE
        assert sent["page"] == f"pages/certificate/index?scene={code}"
        assert sent["miniprogram_state"] == "formal"
        assert sent["data"]["number2"] == {"value": "30"}  # 3 one-yuan units of 10 kg
        assert re.fullmatch(
            r"20[0-9]{2}年[0-9]{1,2}月[0-9]{1,2}日 [0-9]{2}:[0-9]{2}", sent["data"]["time3"]["value"]
        )
        assert sent["data"]["thing4"] == {"value": "碳中和证书已签发，点击查看"}
        assert (message.status, message.attempts, message.last_errcode) == (MessageStatus.SENT, 1, 0)
        assert remaining(CERTIFICATE) == [1]  # one of the two accepts spent

    def test_without_an_allowance_nothing_is_enqueued_and_a_spent_one_allows_no_second(
        self, client, wechat_api
    ):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        buy(client, buyer, 1)
        assert run().enqueued == 0  # never accepted

        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        buy(client, buyer, 1)
        done = run()

        # The first certificate, accepted after it was issued but within the lookback, is messaged too;
        # one accept allows one message, so the rest are refused without a call.
        assert done.sent == 1 and len(wechat_api.subscribe_messages) == 1
        assert sorted(m.status for m in messages()) == [MessageStatus.REFUSED, MessageStatus.REFUSED, "sent"]
        assert {m.last_error for m in messages() if m.status == MessageStatus.REFUSED} == {"no_allowance"}
        assert remaining(CERTIFICATE) == [0]

    def test_wechat_busy_is_retried_after_the_backoff_then_sent(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        wechat_api.answer_subscribe_with(-1)

        busy = run()
        (message,) = messages()
        assert busy.retrying == 1 and wechat_api.subscribe_messages == []
        assert (message.status, message.attempts, message.last_errcode) == (MessageStatus.RETRYING, 1, -1)
        assert remaining(CERTIFICATE) == [1]  # not spent: nothing was sent
        assert run().sent == 0 and wechat_api.count(SEND) == 1  # the backoff (60 s) has not passed

        later = run(utcnow() + timedelta(seconds=61))

        assert later.sent == 1 and len(wechat_api.subscribe_messages) == 1
        (message,) = messages()
        assert (message.status, message.attempts, message.last_errcode) == (MessageStatus.SENT, 2, 0)
        assert remaining(CERTIFICATE) == [0]

    @pytest.mark.parametrize("app_overrides", [{"SUBSCRIBE_SEND_ATTEMPTS": 3}], indirect=True)
    def test_a_5xx_or_a_timeout_is_retried_with_a_doubling_backoff_up_to_the_attempts(
        self, client, wechat_api
    ):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        wechat_api.answer_subscribe_with("http_500", "hang", -1, -1)
        now = utcnow()

        run(now)
        assert abs(messages()[0].next_attempt_at - (now + timedelta(seconds=60))) < timedelta(seconds=1)
        run(now + timedelta(seconds=61))
        (message,) = messages()
        assert (message.status, message.attempts, message.last_error) == (
            MessageStatus.RETRYING,
            2,
            "ReadTimeout",
        )
        assert message.next_attempt_at > now + timedelta(seconds=61 + 119)  # 120 s: doubled
        run(now + timedelta(seconds=300))

        (message,) = messages()
        assert (message.status, message.attempts, message.last_errcode) == (MessageStatus.FAILED, 3, -1)
        run(now + timedelta(days=1))
        assert wechat_api.count(SEND) == 3 and wechat_api.subscribe_messages == []
        assert remaining(CERTIFICATE) == [1]

    def test_a_user_who_refused_43101_is_dropped_and_never_asked_again(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        wechat_api.answer_subscribe_with(43101)

        refused = run()
        run(utcnow() + timedelta(hours=1))
        run(utcnow() + timedelta(hours=2))

        assert refused.refused == 1 and wechat_api.count(SEND) == 1
        (message,) = messages()
        assert (message.status, message.attempts, message.last_errcode) == (MessageStatus.REFUSED, 1, 43101)
        assert remaining(CERTIFICATE) == [1]  # spent only when sent

    def test_a_refund_done_sends_its_amount_and_opens_the_order(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, REFUND)
        number = buy(client, buyer, 3)
        refund = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 10_000}, headers=buyer)
        assert refund.status_code == 201, refund.json

        assert run().sent == 1

        (sent,) = wechat_api.subscribe_messages
        assert sent["template_id"] == REFUND and sent["page"] == f"pages/orders/detail?out_trade_no={number}"
        assert sent["data"]["character_string1"] == {"value": number}
        assert sent["data"]["amount2"] == {"value": "¥1.00"}

    def test_points_expiring_soon_send_their_sum_and_day_once(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, POINTS)
        accept(client, buyer, POINTS)
        buy(client, buyer, 3)
        buy(client, buyer, 2)
        assert run().enqueued == 0  # a year to go
        expires = max(read_session().scalars(select(PointsEntry.expires_at)))

        soon = run(expires - timedelta(days=3))
        again = run(expires - timedelta(days=2))

        assert (soon.sent, again.enqueued) == (1, 0)
        (sent,) = wechat_api.subscribe_messages
        day = beijing_date(expires)
        assert sent["data"]["number1"] == {"value": "50"}
        assert sent["data"]["date2"] == {"value": f"{day.year}年{day.month}月{day.day}日"}
        assert sent["page"] == "pages/points/index"
        assert messages()[0].subject_id == day.isoformat()

    def test_an_event_neutralised_tells_whoever_ordered_its_offset_with_its_name_cut_to_fit(
        self, client, wechat_api
    ):
        publish_library()
        project_id, _ = stock_pool(tonnes=3)
        wechat_api.add_code("organiser-code", openid="o-organiser", session_key="c2Vzc2lvbi1rZXk=")
        org = organiser(client, "organiser-code", "海峡会展中心")
        accept(client, org["headers"], EVENT)
        name = "第二十届海峡两岸经贸交流暨青年创新创业论坛年会"  # 24 characters
        event = create_event(client, org, name=name)
        account_venue_electricity(client, org, event["id"])
        offset_and_pay(client, org, event["id"], project_id)

        assert run().sent == 1

        (sent,) = wechat_api.subscribe_messages
        assert sent["touser"] == "o-organiser" and sent["template_id"] == EVENT
        assert sent["data"]["thing1"] == {"value": name[:19] + "…"}
        assert sent["page"] == f"pages/event/index?scene={event['public_code']}"

    def test_a_bank_transfer_order_about_to_expire_is_reminded_once(self, client, wechat_api):
        publish_library()
        project_id, _ = stock_pool(tonnes=3)
        wechat_api.add_code("organiser-code", openid="o-organiser", session_key="c2Vzc2lvbi1rZXk=")
        org = organiser(client, "organiser-code", "海峡会展中心")
        accept(client, org["headers"], BANK)
        event = create_event(client, org)
        url = f"/api/v1/events/{event['id']}"
        account_venue_electricity(client, org, event["id"])
        placed = client.post(
            f"{url}/offset",
            json={"project_id": project_id, "payment": "bank_transfer"},
            headers=org["headers"],
        )
        assert placed.status_code == 201, placed.json
        number = placed.json["order"]["out_trade_no"]
        expires = read_session().scalar(select(Order.expires_at).where(Order.out_trade_no == number))
        assert run().enqueued == 0  # two weeks to go

        reminded = run(expires - timedelta(hours=24))
        run(expires - timedelta(hours=12))

        assert reminded.sent == 1 and len(wechat_api.subscribe_messages) == 1
        (sent,) = wechat_api.subscribe_messages
        assert sent["data"]["character_string1"] == {"value": number}
        assert sent["data"]["thing4"] == {"value": "订单即将过期，请尽快完成转账"}
        assert run(expires + timedelta(hours=1)).enqueued == 0

    @pytest.mark.parametrize("app_overrides", [{"SUBSCRIBE_MINIPROGRAM_STATE": "trial"}], indirect=True)
    def test_the_version_messages_open_is_a_setting(self, client, wechat_api):
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        run()
        assert wechat_api.subscribe_messages[0]["miniprogram_state"] == "trial"

    def test_no_access_token_in_any_log_line_or_redis_key(self, client, wechat_api, caplog):
        caplog.set_level(logging.DEBUG, logger="services")
        caplog.set_level(logging.INFO)
        stock_pool(tonnes=2)
        buyer = person(client, wechat_api, "buyer-code", "o-buyer")
        accept(client, buyer, CERTIFICATE)
        accept(client, buyer, CERTIFICATE)
        buy(client, buyer, 1)
        buy(client, buyer, 1)
        wechat_api.answer_subscribe_with("http_500", "hang", -1, 43101, 47003)
        for minutes in (0, 2, 5, 10, 20, 40):
            run(utcnow() + timedelta(minutes=minutes))

        assert wechat_api.issued_tokens and wechat_api.count(SEND) >= 4
        text = caplog.text + " ".join(str(r.args) for r in caplog.records)
        assert "subscribeMessage.send" in text
        assert not [token for token in wechat_api.issued_tokens if token in text]
        assert wechat_api.secret not in text
        keys = [key.decode() for key in get_redis().keys("*")]
        assert not [key for key in keys for token in wechat_api.issued_tokens if token in key]
        stored = json.dumps([(m.last_error, m.page, m.data) for m in messages()], ensure_ascii=False)
        assert not [token for token in wechat_api.issued_tokens if token in stored]


class TestWithoutWeChat:
    def test_the_sandbox_skips_every_message_without_calling_anyone(self, client):
        stock_pool(tonnes=2)
        token, _ = login_user(client, "sandbox-buyer")
        accept(client, bearer(token), CERTIFICATE)
        buy(client, bearer(token), 1)

        done = run()

        assert (done.enqueued, done.skipped, done.sent) == (1, 1, 0)
        (message,) = messages()
        assert (message.status, message.attempts, message.last_error) == (
            MessageStatus.SKIPPED,
            0,
            "no_wechat_credentials",
        )
        assert remaining(CERTIFICATE) == [1]
        assert run().enqueued == 0

    def test_the_worker_task_runs_the_job_on_the_started_runtime(self, client, app, monkeypatch):
        from api.context import RUNTIME_KEY
        from worker import tasks
        from worker.schedule import SCHEDULE

        stock_pool(tonnes=2)
        token, _ = login_user(client, "task-buyer")
        accept(client, bearer(token), CERTIFICATE)
        buy(client, bearer(token), 1)
        monkeypatch.setattr(tasks, "_runtime", app.extensions[RUNTIME_KEY])

        summary = tasks.send_subscribe_messages()

        assert summary["enqueued"] == 1 and summary["skipped"] == 1
        assert "worker.tasks.send_subscribe_messages" in {job.task for job in SCHEDULE}


class TestTheFakeChecksFieldsAsWeChatDoes:
    """What makes the tests above able to fail: the fake refuses a value WeChat would refuse."""

    @pytest.mark.parametrize(
        ("data", "refused"),
        [
            ({"thing1": {"value": "一" * 21}}, True),
            ({"thing1": {"value": "一" * 20}}, False),
            ({"number2": {"value": "30千克"}}, True),
            ({"amount2": {"value": "¥12.50"}}, False),
            ({"character_string1": {"value": "订单1"}}, True),
            ({"thing1": {"value": ""}}, True),
            ({}, True),
        ],
    )
    def test_a_value_out_of_its_type_is_47003(self, app, wechat_api, data, refused):
        from wechatpy.exceptions import WeChatClientException

        from services.accounts.wechat_client import WeChatSettings, build_client
        from services.notifications.subscribe_send import SEND_PATH

        client = build_client(WeChatSettings.from_config(app.config))
        body = {"touser": "o-1", "template_id": CERTIFICATE, "data": data, "miniprogram_state": "formal"}
        try:
            if refused:
                with pytest.raises(WeChatClientException) as error:
                    client.wxa._post(SEND_PATH, data=body)
                assert error.value.errcode == 47003
                assert wechat_api.subscribe_messages == []
            else:
                assert client.wxa._post(SEND_PATH, data=body)["errcode"] == 0
                assert wechat_api.subscribe_messages == [body]
        finally:
            client.close()
