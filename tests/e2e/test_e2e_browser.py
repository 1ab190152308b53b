"""The browsable API in a real browser: headless Chromium logs in, manages a todo with the HTML forms, logs out.

Debian's chromium and chromedriver, driven by selenium; nothing is downloaded. On a failure, each step leaves a
screenshot and the page's HTML in the folder the failure message names.
"""

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path

import pytest
from e2e_stack import PASSWORD, Client, Stack
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 20

pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile, no first-run pages and no background traffic."""
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
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


class Walk:
    """The browser and the steps taken; a failing step saves a screenshot and the page's HTML."""

    def __init__(self, driver: WebDriver, base_url: str, evidence: Path) -> None:
        self.driver, self.base_url, self.evidence = driver, base_url, evidence
        self.count = 0

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.count += 1
        try:
            yield
        except Exception as exc:
            self.evidence.mkdir(parents=True, exist_ok=True)
            stem = self.evidence / f"{self.count:02d}-{name.replace(' ', '-')}"
            self.driver.save_screenshot(str(stem.with_suffix(".png")))
            stem.with_suffix(".html").write_text(self.driver.page_source)
            raise AssertionError(
                f"step {self.count} '{name}' failed at {self.driver.current_url}; see {stem}.png"
            ) from exc

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait_for_text(self, text: str) -> None:
        WebDriverWait(self.driver, WAIT_SECONDS).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), text)
        )

    def form_with(self, field: str) -> WebElement:
        """The visible HTML form holding an input named `field`."""
        return self.driver.find_element(By.XPATH, f"//form[.//*[@name='{field}']][not(ancestor::*[@hidden])]")

    def fill(self, form: WebElement, **values: str) -> None:
        for name, value in values.items():
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)


def test_a_browser_logs_in_manages_a_todo_with_the_html_forms_and_logs_out(
    stack: Stack, client: Client, chromium: WebDriver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    username = f"browser-{uuid.uuid4().hex[:10]}"
    registered = client.post(
        "/auth/register/", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.text
    # localhost, as a developer types it: the cookies belong to the gateway's origin.
    walk = Walk(chromium, stack.url.replace("127.0.0.1", "localhost"), tmp_path_factory.mktemp("browser-evidence"))

    with walk.step("log in"):
        walk.open("/auth/login/")
        walk.wait_for_text("Log in")
        form = walk.form_with("username")
        walk.fill(form, username=username, password=PASSWORD)
        form.find_element(By.CSS_SELECTOR, "button.btn-primary").click()
        WebDriverWait(chromium, WAIT_SECONDS).until(expected_conditions.url_contains("/auth/me/"))
        walk.wait_for_text(username)

    title = f"Written in Chromium {uuid.uuid4().hex[:6]}"
    with walk.step("create a todo"):
        walk.open("/todos/")
        walk.wait_for_text("Todos")
        form = walk.form_with("title")
        walk.fill(form, title=title)
        form.find_element(By.CSS_SELECTOR, "button.btn-primary").click()
        walk.wait_for_text("201 Created")

    with walk.step("see it listed"):
        walk.open("/todos/")
        walk.wait_for_text(title)
        todo_url = chromium.find_element(By.XPATH, "//pre//a[contains(@href, '/todos/')]").get_attribute("href")

    edited = f"{title} (edited)"
    with walk.step("edit it"):
        chromium.get(todo_url)
        walk.wait_for_text(title)
        form = chromium.find_element(By.CSS_SELECTOR, "form[data-method='PUT']")
        walk.fill(form, title=edited)
        form.find_element(By.CSS_SELECTOR, "button.btn-primary").click()
        walk.wait_for_text(edited)
        walk.wait_for_text("200 OK")

    with walk.step("delete it"):
        chromium.get(todo_url)
        walk.wait_for_text(edited)
        chromium.find_element(By.CSS_SELECTOR, "button[data-target='#deleteModal']").click()
        confirm = WebDriverWait(chromium, WAIT_SECONDS).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#deleteModal button.btn-danger"))
        )
        confirm.click()
        walk.wait_for_text("204 No Content")
        walk.open("/todos/")
        walk.wait_for_text("200 OK")
        assert edited not in chromium.find_element(By.TAG_NAME, "body").text

    with walk.step("see the user"):
        walk.open("/auth/me/")
        walk.wait_for_text(f"{username}@example.com")

    with walk.step("log out"):
        chromium.find_element(By.CSS_SELECTOR, "a.dropdown-toggle").click()
        WebDriverWait(chromium, WAIT_SECONDS).until(
            expected_conditions.element_to_be_clickable((By.LINK_TEXT, "Log out"))
        ).click()
        walk.wait_for_text("401 Unauthorized")

    with walk.step("the todos are a 401 page"):
        walk.open("/todos/")
        walk.wait_for_text("401 Unauthorized")
        assert chromium.find_element(By.LINK_TEXT, "Log in")
