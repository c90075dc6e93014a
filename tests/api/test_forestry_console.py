"""The console's forestry pages through Flask's test client: forests, plots, plantings and survival
checks set up by form, adoptions listed, land-use compensations with their fee split."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.kernel import beijing_time
from tests.support.accounts import bearer, login_user
from tests.support.console import console_login, post_form
from tests.support.events import organiser
from tests.support.forestry import adopt, pay
from tests.support.pool import stock_pool

PAGES = ["/console/forests", "/console/adoptions", "/console/land-compensations"]


@pytest.fixture
def admin_id(client):
    return console_login(client)


@pytest.fixture
def owner_id(client, admin_id):
    from models import ProjectOwner
    from models.database import unit_of_work

    with unit_of_work() as session:
        owner = ProjectOwner(name="誓节镇村集体")
        session.add(owner)
        session.flush()
        return owner.id


def _forest_by_form(client, owner_id):
    page = post_form(
        client,
        "/console/forests",
        "/console/forests",
        {"code": "GD-1", "name": "广德碳汇林纪念基地", "place": "广德市", "owner_id": str(owner_id)},
    )
    assert page.status_code == 200 and "Memorial forest GD-1 set up." in page.get_data(as_text=True)
    return page


def _plot_by_form(client, forest_path, **fields):
    data = {
        "code": "A-01",
        "area_m2": "6670",
        "species": "侧柏，油松",
        "tree_capacity": "10",
        "donation_fen_per_tree": "3000",
        **fields,
    }
    return post_form(client, forest_path, f"{forest_path}/plots", data)


@pytest.mark.parametrize("path", PAGES)
def test_every_forestry_page_sends_a_stranger_to_login_and_opens_for_an_admin(client, path):
    assert client.get(path).location.startswith("/console/login?next=/console")
    console_login(client)
    assert client.get(path).status_code == 200


def test_a_forest_plot_planting_and_survival_check_are_set_up_by_form(client, admin_id, owner_id):
    forest_page = _forest_by_form(client, owner_id)
    forest_path = forest_page.request.path
    assert forest_path.startswith("/console/forests/")
    assert "GD-1" in client.get("/console/forests").get_data(as_text=True)
    plot_page = _plot_by_form(client, forest_path)
    html = plot_page.get_data(as_text=True)
    assert "Plot A-01 added." in html and "侧柏、油松" in html
    plot_path = plot_page.request.path
    day = (beijing_time.today() - timedelta(days=30)).isoformat()
    planted = post_form(
        client,
        plot_path,
        f"{plot_path}/planting",
        {"species": "侧柏", "trees": "200", "area_m2": "3000", "planted_on": day},
    )
    assert "Planting recorded." in planted.get_data(as_text=True)
    planting_id = planted.get_data(as_text=True).split('name="planting_id" value="')[1].split('"')[0]
    checked = post_form(
        client,
        plot_path,
        f"{plot_path}/survival",
        {"planting_id": planting_id, "checked_on": beijing_time.today().isoformat(), "surviving": "185"},
    )
    html = checked.get_data(as_text=True)
    assert "Survival check recorded." in html and "92.5%" in html


def test_bad_forms_say_what_is_wrong_and_change_nothing(client, admin_id, owner_id):
    bad = post_form(
        client,
        "/console/forests",
        "/console/forests",
        {"code": "bad code!", "name": "n", "place": "p", "owner_id": str(owner_id)},
    )
    assert "No forest set up: code" in bad.get_data(as_text=True)
    control = post_form(
        client,
        "/console/forests",
        "/console/forests",
        {"code": "NUL-1", "name": "林\u0000", "place": "p", "owner_id": str(owner_id)},
    )
    # A NUL is refused for every form and body before any view (api/json_guard.py), naming the field.
    refused = control.get_data(as_text=True)
    assert control.status_code == 422 and control.mimetype == "text/html"
    assert "<code>name</code>: Text cannot contain the NUL character (U+0000)." in refused
    bell = post_form(
        client,
        "/console/forests",
        "/console/forests",
        {"code": "BEL-1", "name": "林\u0007", "place": "p", "owner_id": str(owner_id)},
    )
    assert "No forest set up: name: no control characters" in bell.get_data(as_text=True)
    assert "No memorial forest yet." in client.get("/console/forests").get_data(as_text=True)
    forest_path = _forest_by_form(client, owner_id).request.path
    too_big = _plot_by_form(client, forest_path, tree_capacity="99999999999")
    assert "No plot added: tree_capacity" in too_big.get_data(as_text=True)
    repeated = _plot_by_form(client, forest_path, species="侧柏 侧柏")
    assert "No plot added" in repeated.get_data(as_text=True)
    plot_path = _plot_by_form(client, forest_path).request.path
    wrong = post_form(
        client,
        plot_path,
        f"{plot_path}/planting",
        {"species": "杨树", "trees": "1", "area_m2": "1", "planted_on": beijing_time.today().isoformat()},
    )
    assert "Not recorded: 杨树 is not a species" in wrong.get_data(as_text=True)
    assert "Nothing planted yet." in wrong.get_data(as_text=True)


def test_forms_without_csrf_are_refused(client, admin_id, owner_id):
    response = client.post(
        "/console/forests", data={"code": "X", "name": "n", "place": "p", "owner_id": str(owner_id)}
    )
    assert response.status_code == 400
    assert "No memorial forest yet." in client.get("/console/forests").get_data(as_text=True)


def test_adoptions_and_an_adopted_plot_refusing_a_credit_project(client, admin_id, owner_id):
    forest_path = _forest_by_form(client, owner_id).request.path
    plot_path = _plot_by_form(client, forest_path).request.path
    plot_id = int(plot_path.rsplit("/", 1)[1])
    buyer = bearer(login_user(client, "console-adopter")[0])
    placed = adopt(client, buyer, plot_id=plot_id, trees=4, holder_name="王五")
    pay(client, buyer, placed.json["order"]["out_trade_no"])
    listed = client.get("/console/adoptions", query_string={"status": "active"}).get_data(as_text=True)
    assert "王五" in listed and "status-active" in listed
    assert "王五" not in client.get("/console/adoptions", query_string={"status": "refunded"}).get_data(
        as_text=True
    )
    project_id, _ = stock_pool(tonnes=1)
    refused = post_form(
        client, plot_path, f"{plot_path}/credit-project", {"credit_project_id": str(project_id)}
    )
    html = refused.get_data(as_text=True)
    assert "Not recorded: This plot&#39;s trees are adopted" in html and 'id="trees-held">4<' in html


def test_a_compensation_shows_its_fee_split(client, admin_id):
    token = client.get("/console/land-compensations")
    assert "No land-use compensation yet." in token.get_data(as_text=True)
    from tests.support.accounts import login_admin

    admin = login_admin(client, "api-admin")[0]
    company = organiser(client, "console-company", "朔州某公司", admin_token=admin)
    project_id, _ = stock_pool(tonnes=16)
    placed = client.post(
        f"/api/v1/organisations/{company['organisation_id']}/land-compensations",
        json={
            "permit_number": "晋林地〔2026〕1号",
            "permit_authority": "山西省林业和草原局",
            "business_project": "物流园",
            "occupied_area_m2": 1_000,
            "project_id": project_id,
        },
        headers=company["headers"],
    )
    assert placed.status_code == 201, placed.json
    compensation = placed.json["compensation"]
    listed = client.get("/console/land-compensations").get_data(as_text=True)
    assert "晋林地〔2026〕1号" in listed
    detail = client.get(f"/console/land-compensations/{compensation['id']}").get_data(as_text=True)
    fen = compensation["amount_fen"]
    assert f"¥{fen // 100}.{fen % 100:02d}" in detail
    assert (
        f'id="state-part">{compensation["state_fen"] // 100}.{compensation["state_fen"] % 100:02d}<' in detail
    )
    assert "No credits yet" in detail
    assert client.get("/console/land-compensations/424242").status_code == 404
