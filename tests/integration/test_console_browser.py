"""The admin console in a real headless Chromium: log in, read the dashboard, resolve a discrepancy by clicking,
import a batch file, draft, submit and confirm a retirement.

The app runs in a real HTTP server (werkzeug, in a thread on 127.0.0.1) on the SQLite test database;
`bin/test` installs Debian's `chromium` and `chromium-driver` when they are missing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from services.accounts.accounts import create_admin
from tests.support.accounts import ADMIN_PASSWORD, bearer, login_user
from tests.support.console import reconciled_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and its driver (Debian: apt-get install chromium chromium-driver; bin/test does it)",
    ),
]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium fetch a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to read CSP refusals
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_an_admin_logs_in_reads_the_dashboard_and_resolves_a_discrepancy(client, live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    buyer = bearer(login_user(client, "browser-buyer")[0])
    scene = reconciled_run(client, buyer, None)
    create_admin("browser-admin", ADMIN_PASSWORD)
    wait = WebDriverWait(browser, 15)

    browser.get(f"{live_server}/console/")
    wait.until(seen.presence_of_element_located((By.ID, "username")))
    assert "/console/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("browser-admin")
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login").click()

    chart = wait.until(seen.presence_of_element_located((By.ID, "sales-chart")))
    assert browser.current_url == f"{live_server}/console/"
    assert len(chart.find_elements(By.TAG_NAME, "rect")) == 30
    assert browser.find_element(By.ID, "users").text == "1"  # the buyer

    browser.get(f"{live_server}/console/reconciliation/{scene['run_id']}")
    card = wait.until(seen.presence_of_element_located((By.ID, f"discrepancy-{scene['unknown']}")))
    assert "NOT-OURS-0001" in card.text and "resolved" not in card.get_attribute("class").split()
    explain = card.find_element(By.CSS_SELECTOR, "form input[name=note][required]")
    explain.send_keys("a payment of another shop on the same merchant account")
    card.find_element(By.CSS_SELECTOR, "button.explain").click()

    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "resolved: explained"))
    card = browser.find_element(By.ID, f"discrepancy-{scene['unknown']}")
    assert "resolved" in card.get_attribute("class").split()
    assert "Resolved: explained" in card.text and "another shop" in card.text
    assert not card.find_elements(By.CSS_SELECTOR, "button.explain")  # no form left to resolve it twice


def _log_in(browser, wait, live_server: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen

    create_admin(username, ADMIN_PASSWORD)
    browser.get(f"{live_server}/console/login")
    wait.until(seen.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait.until(seen.presence_of_element_located((By.ID, "logout")))


def test_an_admin_imports_a_batch_file_then_retires_sold_tonnes(client, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from services.kernel import beijing_time
    from tests.support.pool import stock_pool
    from tests.support.sales import buy

    stock_pool(tonnes=1)
    buy(client, bearer(login_user(client, "browser-retiree")[0]), 100)  # the whole tonne is sold
    wait = WebDriverWait(browser, 15)
    _log_in(browser, wait, live_server, "browser-retirer")

    batch_file = tmp_path / "batches.csv"
    batch_file.write_text(
        "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref\n"
        "SC-BAMBOO,2022,FFCER-BROWSER-,1,3,3,2023-04-01,FFCER-2023-BR1\n",
        encoding="utf-8",
    )
    browser.get(f"{live_server}/console/batches")
    browser.find_element(By.ID, "batch-file").send_keys(str(batch_file))
    browser.find_element(By.ID, "preview-batches").click()
    wait.until(seen.text_to_be_present_in_element((By.ID, "import-verdict"), "No fault found: 1 batch, 3 t"))
    assert "FFCER-2023-BR1" in browser.find_element(By.ID, "import-row-1").text
    browser.find_element(By.ID, "import-batches").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Imported 1 batch, 3 t"))
    assert browser.current_url == f"{live_server}/console/batches"
    listed = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr.batch")]
    assert any("FFCER-BROWSER-0000001" in row and "FFCER-2023-BR1" in row for row in listed)

    browser.get(f"{live_server}/console/retirements")
    wait.until(seen.presence_of_element_located((By.ID, "draft-form")))
    assert "FFCER · 1 t retirable" in browser.find_element(By.ID, "draft-kind").text
    browser.find_element(By.ID, "draft-retirement").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "drafted: 1 t FFCER"))
    row = browser.find_element(By.CSS_SELECTOR, "tr.retirement")
    assert "draft" in row.find_element(By.CSS_SELECTOR, ".status-draft").text

    row.find_element(By.NAME, "submission_ref").send_keys("SQ-BROWSER-1")
    row.find_element(By.CSS_SELECTOR, "button.submit-retirement").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "submit done"))
    row = browser.find_element(By.CSS_SELECTOR, "tr.retirement")
    assert row.find_element(By.CSS_SELECTOR, ".status-submitted").text == "submitted"
    assert "SQ-BROWSER-1" in row.text

    row.find_element(By.NAME, "registry_ref").send_keys("FJ-BROWSER-0001")
    # A date input's typed form depends on the browser's locale; its value is always YYYY-MM-DD.
    browser.execute_script(
        "arguments[0].value = arguments[1]",
        row.find_element(By.NAME, "retired_on"),
        beijing_time.today().isoformat(),
    )
    row.find_element(By.CSS_SELECTOR, "button.confirm-retirement").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "confirm done"))
    row = browser.find_element(By.CSS_SELECTOR, "tr.retirement")
    assert row.find_element(By.CSS_SELECTOR, ".status-confirmed").text == "confirmed"
    assert "FJ-BROWSER-0001" in row.text and not row.find_elements(By.TAG_NAME, "form")
    assert _policy_refusals(browser) == []


def _policy_refusals(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def test_pages_render_under_their_content_security_policy(client, live_server, browser):
    """Swagger UI runs its script, the console and the verification page get their styles: nothing refused."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.pool import stock_pool
    from tests.support.sales import buy

    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "browser-verifier")[0])
    buy(client, buyer, 2)
    (certificate,) = client.get("/api/v1/me/certificates", headers=buyer).json
    wait = WebDriverWait(browser, 30)

    browser.get(f"{live_server}/api/docs/swagger")
    # The UI's script ran, fetched the spec and drew its title and operations.
    title = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".info .title")))
    assert "Carbon inclusion" in title.text
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    assert _policy_refusals(browser) == []

    background = "return getComputedStyle(document.body).backgroundColor"
    browser.get(f"{live_server}/console/login")
    wait.until(seen.presence_of_element_located((By.ID, "username")))
    assert browser.execute_script(background) == "rgb(246, 248, 246)"  # console.css
    browser.get(f"{live_server}/verify/{certificate['verification_code']}")
    wait.until(seen.presence_of_element_located((By.CLASS_NAME, "card")))
    assert browser.execute_script(background) == "rgb(243, 247, 243)"  # the page's own <style>
    assert _policy_refusals(browser) == []


def _overflowing(browser) -> list[str]:
    """What on the page is wider than its box (the page itself, or a card scrolling sideways)."""
    return browser.execute_script(
        """
        const out = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth) out.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
        document.querySelectorAll('.card').forEach((card, i) => {
          if (card.scrollWidth > card.clientWidth + 1) out.push(`card ${i} ${card.scrollWidth} > ${card.clientWidth}`);
        });
        return out;
        """
    )


def test_public_pages_read_on_a_phone_without_sideways_scrolling(client, live_server, browser):
    """The event disclosure and the certificate verification page at 390 px wide, as on a phone."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.events import create_event, organiser, publish, upload
    from tests.support.factors import publish_library
    from tests.support.pool import stock_pool
    from tests.support.sales import buy

    publish_library()
    who = organiser(client, "phone-organiser", "手机会务")
    event = create_event(client, who, name="海峡两岸低碳发展与绿色金融合作论坛暨年度颁奖典礼")
    sources = f"/api/v1/events/{event['id']}/sources"
    for body in (
        {"kind": "venue_electricity", "activity": "12345.6", "factor_key": "electricity.grid.east"},
        {"kind": "venue_fuel", "activity": "250.5", "factor_key": "fuel.natural_gas"},
    ):
        added = client.post(sources, json={"phase": "actual", **body}, headers=who["headers"])
        assert added.status_code == 201, added.json
    attendees = "name,origin_city,mode,return\n林一,厦门,hsr,yes\n王一,北京,flight,yes\n张一,杭州市,car,no\n"
    assert upload(client, who, event["id"], attendees).status_code == 200
    code = publish(client, who, event["id"])
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "phone-buyer")[0])
    buy(client, buyer, 2)
    (certificate,) = client.get("/api/v1/me/certificates", headers=buyer).json
    wait = WebDriverWait(browser, 30)
    browser.set_window_size(390, 844)

    for path in (f"/events/{code}/disclosure", f"/verify/{certificate['verification_code']}"):
        browser.get(live_server + path)
        wait.until(seen.presence_of_element_located((By.CLASS_NAME, "card")))
        assert browser.execute_script("return window.innerWidth") <= 400
        assert _overflowing(browser) == [], path
