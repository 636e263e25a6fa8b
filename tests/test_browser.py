"""The real app in headless Chromium: every page renders its heading and charts.

Screenshots go to artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_path, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    port = _free_port()
    env = {**os.environ, "STLS_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stls", "serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (apt-get install chromium); test.sh installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def open_page(browser, url: str, height: int = 2400):
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.goto(url)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stSkeleton]').length == 0", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    page.wait_for_timeout(1500)
    return page


def test_overview_renders_with_charts_and_url_state(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, f"{server}/?district=E07000113&to=2024%2F25")
    assert page.locator("h1").first.inner_text() == "STLS overview"
    assert page.get_by_text("Synthetic demonstration data").count() == 1
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.locator("[data-testid=stMetric]").count() == 5
    assert "Swale · 2016/17 to 2024/25" in page.content()
    page.screenshot(path=str(SHOTS / "overview-swale.png"), full_page=True)
    assert "district=E07000113" in page.url
    page.close()
