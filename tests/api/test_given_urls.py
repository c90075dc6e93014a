"""Addresses people give the service: images only as absolute https URLs, registry links only absolute.

A protocol-relative `//evil.example`, a `javascript:` address or a relative path would send the
readers of a reward, a project or a certificate's verification page wherever its author chose.
"""

from __future__ import annotations

import io

import pytest

from models import Retirement
from models.database import unit_of_work
from services.kernel import beijing_time
from services.kernel.web_urls import is_https_url, is_web_url
from services.pool import catalogue_admin
from services.registry import retirement
from tests.support.accounts import bearer, login_user
from tests.support.console import console_login, draft_retirement, post_form
from tests.support.pool import stock_pool
from tests.support.sales import buy

GOOD_IMAGE = "https://img.example.cn/rewards/bike.png"
HOSTILE = [
    "//evil.example/x.png",
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "/static/x.png",
    "https:evil.example/x.png",
    "https:/evil.example/x.png",
    "https:\\\\evil.example\\x.png",
    "https://",
    "https://img.example.cn/a b.png",
    "https://img.example.cn/a\x00.png",
    "https://img.example.cn:port/a.png",
    " https://img.example.cn/a.png",
]
NOT_HTTPS = [*HOSTILE, "http://img.example.cn/a.png", "ftp://img.example.cn/a.png"]


@pytest.mark.parametrize("url", NOT_HTTPS)
def test_only_absolute_https_urls_are_image_addresses(url):
    assert not is_https_url(url)


@pytest.mark.parametrize("url", HOSTILE)
def test_registry_links_are_absolute_web_addresses(url):
    assert not is_web_url(url)


def test_good_addresses_pass():
    assert is_https_url(GOOD_IMAGE) and is_https_url("HTTPS://Img.Example.cn:8443/a.png?x=1#y")
    assert is_web_url("http://registry.example.cn/r/1") and is_web_url(GOOD_IMAGE)


@pytest.mark.parametrize("url", NOT_HTTPS)
def test_a_reward_image_must_be_an_absolute_https_url(client, admin_headers, url):
    body = {"kind": "service", "name": "Bike check-up", "cost_points": 300}
    refused = client.post("/api/v1/admin/rewards", json={**body, "image_url": url}, headers=admin_headers)
    assert refused.status_code == 422 and "image_url" in refused.json["errors"]["json"], refused.json
    created = client.post(
        "/api/v1/admin/rewards", json={**body, "image_url": GOOD_IMAGE}, headers=admin_headers
    )
    assert created.status_code == 201 and created.json["image_url"] == GOOD_IMAGE
    item = created.json["id"]
    changed = client.patch(f"/api/v1/admin/rewards/{item}", json={"image_url": url}, headers=admin_headers)
    assert changed.status_code == 422 and "image_url" in changed.json["errors"]["json"]
    assert client.get(f"/api/v1/rewards/{item}").json["image_url"] == GOOD_IMAGE
    cleared = client.patch(f"/api/v1/admin/rewards/{item}", json={"image_url": ""}, headers=admin_headers)
    assert cleared.status_code == 200 and cleared.json["image_url"] == ""


@pytest.mark.parametrize("url", ["//evil.example/x.png", "http://img.example.cn/a.png", "/static/x.png"])
def test_a_project_image_must_be_an_absolute_https_url(client, admin_headers, url):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 2500})
    body = {"code": "P-1", "name": "竹林", "kind_code": "FFCER"}
    refused = client.post("/api/v1/admin/projects", json={**body, "image_url": url}, headers=admin_headers)
    assert refused.status_code == 422 and "image_url" in refused.json["errors"]["json"], refused.json
    created = client.post(
        "/api/v1/admin/projects", json={**body, "image_url": GOOD_IMAGE}, headers=admin_headers
    )
    assert created.status_code == 201, created.json


def _submitted_retirement(client) -> tuple[int, int]:
    stock_pool(tonnes=1)
    buy(client, bearer(login_user(client, "url-buyer")[0]), 100)  # the whole tonne
    admin_id = console_login(client)
    retirement_id = draft_retirement(admin_id)
    retirement.submit(admin_id, retirement_id, "SQ-1")
    return admin_id, retirement_id


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example/r/1"])
def test_a_registry_link_given_in_the_console_must_be_absolute(client, url):
    _, retirement_id = _submitted_retirement(client)
    page = f"/console/retirements/{retirement_id}"
    refused = post_form(
        client,
        page,
        f"{page}/confirm",
        {"registry_ref": "REF-1", "retired_on": beijing_time.today().isoformat(), "registry_url": url},
    )
    assert "unchanged" in refused.get_data(as_text=True)
    with unit_of_work() as session:
        stored = session.get(Retirement, retirement_id)
        assert (stored.status.value, stored.registry_url) == ("submitted", "")


def test_a_registry_link_in_a_batch_import_must_be_absolute(client, admin_headers):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 2500})
    catalogue_admin.create_project(None, {"code": "SC-01", "name": "顺昌", "kind_code": "FFCER"})
    header = "project_code,vintage,serial_prefix,serial_start,serial_end,serial_digits,quantity_t,issued_on,registry_ref,registry_url"
    row = "SC-01,2020,FFCER-SC-,1,10,7,10,2021-05-20,REF-1,javascript:alert(1)"
    response = client.post(
        "/api/v1/admin/batches/import",
        data={"file": (io.BytesIO(f"{header}\n{row}".encode()), "b.csv")},
        headers=admin_headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["registry_url"]
