"""The fake WeChat API answers as api.weixin.qq.com does, so tests through it mean something."""

import io

import requests
import zxingcpp
from PIL import Image


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


def _wxacode(fake, token, **body):
    return requests.post(
        fake.base_url + "wxa/getwxacodeunlimit", params={"access_token": token}, json=body, timeout=5
    )


def test_a_mini_program_code_is_a_png_for_a_known_token_and_a_valid_scene(wechat_api):
    token = get(
        wechat_api,
        "cgi-bin/token",
        grant_type="client_credential",
        appid=wechat_api.appid,
        secret=wechat_api.secret,
    )["access_token"]
    wechat_api.released_pages.add("pages/a/index")

    good = _wxacode(wechat_api, token, scene="ABC234", page="pages/a/index", width=430)
    unknown_token = _wxacode(wechat_api, "ACCESS_TOKEN_forged", scene="ABC234", page="pages/a/index")
    long_scene = _wxacode(wechat_api, token, scene="A" * 33, page="pages/a/index")
    unreleased = _wxacode(wechat_api, token, scene="ABC234", page="pages/b/index")
    unchecked = _wxacode(wechat_api, token, scene="ABC234", page="pages/b/index", check_path=False)

    assert good.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(good.content)) as image:
        assert image.size == (430, 430)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == ["page=pages/a/index&scene=ABC234"]
    assert unknown_token.json()["errcode"] == 40001
    assert long_scene.json()["errcode"] == 40169
    assert unreleased.json()["errcode"] == 41030
    assert unchecked.headers["Content-Type"] == "image/png"
