"""The fake WeChat API answers as api.weixin.qq.com does, so tests through it mean something."""

import requests


def get(fake, path, **params):
    return requests.get(fake.base_url + path, params=params, timeout=5).json()


def test_the_access_token_needs_the_right_appid_and_secret(wechat_api):
    good = get(
        wechat_api,
        "cgi-bin/token",
        grant_type="client_credential",
        appid=wechat_api.appid,
        secret=wechat_api.secret,
    )
    bad_appid = get(
        wechat_api, "cgi-bin/token", grant_type="client_credential", appid="wx0", secret=wechat_api.secret
    )
    bad_secret = get(
        wechat_api, "cgi-bin/token", grant_type="client_credential", appid=wechat_api.appid, secret="x"
    )

    assert good["expires_in"] == 7200
    assert good["access_token"] == wechat_api.issued_tokens[0]
    assert bad_appid["errcode"] == 40013
    assert bad_secret["errcode"] == 40125


def test_a_code_works_once(wechat_api):
    wechat_api.add_code("c1", openid="o1", session_key="k1", unionid="u1")
    params = {"appid": wechat_api.appid, "secret": wechat_api.secret, "grant_type": "authorization_code"}

    first = get(wechat_api, "sns/jscode2session", js_code="c1", **params)
    second = get(wechat_api, "sns/jscode2session", js_code="c1", **params)
    unknown = get(wechat_api, "sns/jscode2session", js_code="c2", **params)

    assert first == {"session_key": "k1", "openid": "o1", "unionid": "u1"}
    assert second == {"errcode": 40163, "errmsg": "code been used"}
    assert unknown == {"errcode": 40029, "errmsg": "invalid code"}


def test_it_can_fail_with_500(wechat_api):
    wechat_api.fail_with("http_500")

    response = requests.get(wechat_api.base_url + "cgi-bin/token", timeout=5)

    assert response.status_code == 500
