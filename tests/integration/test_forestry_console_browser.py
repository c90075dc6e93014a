"""The forestry console pages and the adoption record in a real headless Chromium: set up a forest
and a plot by clicking, record a planting and its survival, and read an adoption's public page on a
phone-sized window without sideways scrolling or a refused style."""

from __future__ import annotations

from datetime import timedelta

from models import ProjectOwner
from models.database import unit_of_work
from services.kernel import beijing_time
from tests.integration import test_console_browser as console_browser
from tests.support.accounts import bearer, login_user
from tests.support.forestry import adopt, pay

# The same marks (browser; skipped without Chromium) and the same live server and browser fixtures.
pytestmark = console_browser.pytestmark
live_server = console_browser.live_server
browser = console_browser.browser
_log_in, _overflowing, _policy_refusals = (
    console_browser._log_in,
    console_browser._overflowing,
    console_browser._policy_refusals,
)


def _fill(driver, form_id: str, values: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    form = driver.find_element(By.ID, form_id)
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_visible_text(value)
        else:
            field.clear()
            field.send_keys(value)


def test_an_admin_sets_up_a_forest_and_plot_and_records_planting_and_survival(client, live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    with unit_of_work() as session:
        session.add(ProjectOwner(name="誓节镇村集体"))
    wait = WebDriverWait(browser, 30)
    _log_in(browser, wait, live_server, "forest-admin")
    browser.find_element(By.LINK_TEXT, "Forests").click()
    wait.until(seen.presence_of_element_located((By.ID, "forest-form")))
    _fill(
        browser,
        "forest-form",
        {"code": "GD-1", "name": "广德碳汇林纪念基地", "place": "广德市", "owner_id": "誓节镇村集体"},
    )
    browser.find_element(By.ID, "create-forest").click()
    wait.until(
        seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Memorial forest GD-1 set up.")
    )

    _fill(
        browser,
        "plot-form",
        {
            "code": "A-01",
            "area_m2": "6670",
            "species": "侧柏, 油松",
            "tree_capacity": "10",
            "donation_fen_per_tree": "3000",
        },
    )
    browser.find_element(By.ID, "create-plot").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Plot A-01 added."))
    plot_url = browser.current_url

    day = beijing_time.today() - timedelta(days=20)
    _fill(browser, "planting-form", {"species": "油松", "trees": "40", "area_m2": "1200"})
    # A date input takes the digits as typed in its locale's order; set it the way a picker does.
    browser.execute_script(
        "document.querySelector('#planting-form input[name=planted_on]').value = arguments[0]",
        day.isoformat(),
    )
    browser.find_element(By.ID, "record-planting").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Planting recorded."))
    row = browser.find_element(By.CSS_SELECTOR, "tr.planting")
    browser.execute_script(
        "arguments[0].querySelector('input[name=checked_on]').value = arguments[1]",
        row,
        beijing_time.today().isoformat(),
    )
    row.find_element(By.NAME, "surviving").send_keys("38")
    row.find_element(By.CSS_SELECTOR, "button.record-survival").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Survival check recorded."))
    assert browser.find_element(By.CSS_SELECTOR, "tr.planting .survival-rate").text == "95.0%"
    assert _policy_refusals(browser) == []

    # An adoption of the plot shows on the plot's page and reads on a phone.
    plot_id = int(plot_url.rstrip("/").rsplit("/", 1)[1])
    buyer = bearer(login_user(client, "browser-adopter")[0])
    placed = adopt(client, buyer, plot_id=plot_id, trees=2, holder_name="欧阳明月")
    pay(client, buyer, placed.json["order"]["out_trade_no"])
    browser.get(plot_url)
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "tr.adoption")))
    assert browser.find_element(By.ID, "trees-held").text == "2"
    browser.set_window_size(390, 844)
    browser.get(f"{live_server}/adoptions/{placed.json['adoption']['public_code']}")
    wait.until(seen.presence_of_element_located((By.CLASS_NAME, "card")))
    assert "欧**月" in browser.page_source and "欧阳明月" not in browser.page_source
    assert "95.0%" in browser.page_source
    assert _overflowing(browser) == []
    assert (
        browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        == "rgb(243, 247, 243)"
    )
    assert _policy_refusals(browser) == []
