"""The operator console end to end: a real broker and worker, the console process fed by
them, and Debian's chromium (headless, through its chromedriver) working the queue.

Two premium leads need approval; the browser loads every page, approves one decision
and rejects the other with a reason on the worklist, sets a reminder on a lead's page
and snoozes and dismisses reminders on the reminders page, and each act must then be on
its topic (`action-outcomes`, which the worker reads, and `operator-reminders`).
Screenshots of every page go to the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from stream_app.kafka.embedded import EmbeddedBroker, free_port
from tests.integration.conftest import Events
from tests.integration.harness import (
    EMBEDDED_BROKER_ENV,
    TopicWatcher,
    Upstream,
    WorkerProcess,
    decide,
)

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGES = ["/", "/segments", "/learning", "/reminders"]


@pytest.fixture(scope="module")
def console(
    broker: EmbeddedBroker, worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {
        **os.environ,
        **EMBEDDED_BROKER_ENV,
        "STREAM_APP_BROKER": broker.url,
        "STREAM_APP_DATA_DIR": str(data),
    }
    log = (data / "console.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "stream_app", "console", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError((data / "console.log").read_text()) from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    assert shutil.which(CHROMIUM) and shutil.which(DRIVER), "make test installs chromium"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def await_text(driver: webdriver.Chrome, url: str, text: str, timeout_s: float = 30) -> None:
    """Reload `url` until the page shows `text` (the feed reads the topics asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        driver.get(url)
        if text in driver.page_source:
            return
        assert time.monotonic() < deadline, f"{url} never showed {text!r}"
        time.sleep(0.2)


async def test_an_operator_works_the_queue_in_a_browser(
    console: str,
    browser: webdriver.Chrome,
    upstream: Upstream,
    watcher: TopicWatcher,
    tmp_path: Path,
    events: Events,
    broker: EmbeddedBroker,
) -> None:
    decision = await decide(
        upstream,
        watcher,
        "leads",
        events.created(value_tier="platinum", owner="Coach Dana", phone="+15550123"),
    )
    assert decision["requires_approval"]
    lead = events.lead_id
    # The search box echoes the lead id: wait for the decision's row, not the id.
    await_text(browser, f"{console}/?show=approval&q={lead}", decision["decision_id"])
    browser.save_screenshot(str(tmp_path / "worklist.png"))
    for path in [*PAGES, f"/leads/{lead}"]:
        browser.get(console + path)
        assert (
            "Traceback" not in browser.page_source and "internal error" not in browser.page_source
        )
        browser.save_screenshot(str(tmp_path / f"page{path.replace('/', '_') or '_root'}.png"))
    assert "Coach Dana" in browser.page_source and decision["action"] in browser.page_source

    acts = TopicWatcher(broker.bootstrap, ["action-outcomes", "operator-reminders"])
    await acts.start()
    browser.get(f"{console}/?show=approval&q={lead}")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-decision='{decision['decision_id']}']")
    row.find_element(By.CSS_SELECTOR, "button.approve").click()
    [approved] = await acts.wait_for(
        "action-outcomes", lambda r: r.get("decision_id") == decision["decision_id"]
    )
    assert approved["outcome"] == "accepted" and approved["lead_id"] == lead
    assert "Done: accepted" in browser.page_source
    await_text(browser, f"{console}/?show=all&q={lead}", "approval-accepted")
    browser.save_screenshot(str(tmp_path / "approved.png"))

    # Reject another lead's decision with a reason: the reason travels with the outcome.
    other = Events(f"lead-{uuid.uuid4().hex[:10]}", Events.default_start())
    refused = await decide(upstream, watcher, "leads", other.created(value_tier="platinum"))
    await_text(browser, f"{console}/?show=approval&q={other.lead_id}", refused["decision_id"])
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-decision='{refused['decision_id']}']")
    row.find_element(By.NAME, "reason").send_keys("family asked for email only")
    row.find_element(By.CSS_SELECTOR, "button.reject").click()
    [rejected] = await acts.wait_for(
        "action-outcomes", lambda r: r.get("decision_id") == refused["decision_id"]
    )
    assert rejected["outcome"] == "rejected" and rejected["reason"] == "family asked for email only"

    # Set a reminder on the lead's page, then snooze it and dismiss it on the queue.
    browser.get(f"{console}/leads/{lead}")
    form = browser.find_element(By.ID, "set-reminder")
    browser.execute_script(
        "arguments[0].value = '2031-01-06T09:30'", form.find_element(By.NAME, "remind_at")
    )
    form.find_element(By.NAME, "note").send_keys("call after the school trip")
    form.find_element(By.TAG_NAME, "button").click()
    [made] = await acts.wait_for(
        "operator-reminders", lambda r: r["lead_id"] == lead and r["type"] == "reminder.set"
    )
    assert made["remind_at"].startswith("2031-01-06T09:30") and made["note"].startswith("call")
    snooze = f"form[action='/reminders/{made['reminder_id']}/snooze']"
    await_text(browser, f"{console}/reminders", made["reminder_id"])
    browser.save_screenshot(str(tmp_path / "reminders.png"))
    browser.find_element(By.CSS_SELECTOR, f"{snooze} option[value='72']").click()
    browser.find_element(By.CSS_SELECTOR, f"{snooze} button.snooze").click()
    [moved] = await acts.wait_for(
        "operator-reminders", lambda r: r["lead_id"] == lead and r["type"] == "reminder.snoozed"
    )
    assert moved["remind_at"].startswith("2031-01-09T09:30")
    await_text(browser, f"{console}/reminders", "2031-01-09 09:30")
    dismiss = f"form[action='/reminders/{made['reminder_id']}/dismiss'] button"
    browser.find_element(By.CSS_SELECTOR, dismiss).click()
    await acts.wait_for(
        "operator-reminders", lambda r: r["lead_id"] == lead and r["type"] == "reminder.dismissed"
    )
    await acts.stop()
    shots = os.environ.get("CONSOLE_SCREENSHOT_DIR")
    if shots:
        shutil.copy(tmp_path / "worklist.png", Path(shots) / "console-worklist.png")
