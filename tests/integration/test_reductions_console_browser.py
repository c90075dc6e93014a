"""Reduction batches in a real headless Chromium: read a month's actions, build its batches, file one at
the registry and record its issuance, then see it in the pool; no style or script refused by the CSP."""

from __future__ import annotations

from models import ActionKind
from services.actions import methodology
from services.kernel import beijing_time
from tests.integration.test_console_browser import (  # noqa: F401 (fixtures)
    _log_in,
    _policy_refusals,
    browser,
    live_server,
    pytestmark,
)
from tests.support.accounts import login_user
from tests.support.reductions import closed_month, day_in, make_action

BUS = methodology.methodology_of(ActionKind.BUS)


def _set(driver, element, value: str) -> None:
    """Set an input's value as a user's typing would leave it (dates and numbers alike)."""
    driver.execute_script("arguments[0].value = arguments[1]", element, value)


def test_an_admin_builds_a_months_batches_and_issues_one_into_the_pool(client, live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    month = closed_month()
    label = f"{month:%Y-%m}"
    for index, code in enumerate(("browser-reducer-a", "browser-reducer-b")):
        user_id = login_user(client, code)[1]["id"]
        make_action(user_id, day_in(month, 2 + index), ActionKind.BUS, 600_000)
    wait = WebDriverWait(browser, 15)
    _log_in(browser, wait, live_server, "browser-reductions")

    browser.get(f"{live_server}/console/reductions")
    _set(browser, browser.find_element(By.ID, "summary-month"), label)
    browser.find_element(By.ID, "show-month").click()
    summary = wait.until(seen.presence_of_element_located((By.ID, "month-summary")))
    assert BUS in summary.text and "1,200,000" in summary.text

    browser.find_element(By.ID, "build-batches").click()  # the month is carried into the form
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Made 1 draft batch"))
    row = browser.find_element(By.CSS_SELECTOR, "tr.reduction-batch")
    assert "draft" in row.text and "1,200,000" in row.text
    row.find_element(By.TAG_NAME, "a").click()

    wait.until(seen.presence_of_element_located((By.ID, "submit-batch")))
    browser.find_element(By.NAME, "application_ref").send_keys("SQ-BROWSER-7")
    browser.find_element(By.ID, "submit-batch").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "submit done"))
    assert browser.find_element(By.ID, "reduction-status").text == "submitted"

    form = browser.find_element(By.ID, "issue-form")
    for name, value in (
        ("issued_t", "1"),
        ("registry_ref", "CIER-BROWSER-0001"),
        ("serial_prefix", "CIER-BR-"),
        ("serial_start", "1"),
        ("issued_on", beijing_time.today().isoformat()),
        ("price_fen_per_t", "30000"),
    ):
        _set(browser, form.find_element(By.NAME, name), value)
    browser.find_element(By.ID, "issue-batch").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "issue done"))
    assert browser.find_element(By.ID, "reduction-status").text == "issued"
    assert browser.find_element(By.ID, "issued-t").text == "1"
    assert "CIER-BR-0000001" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.ID, "issue-form")  # nothing left to issue twice

    browser.get(f"{live_server}/console/batches")
    listed = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr.batch")]
    assert any("CIER-BR-0000001" in row and "CIER-BROWSER-0001" in row for row in listed)
    assert _policy_refusals(browser) == []
