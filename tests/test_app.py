"""Browser test of the interactive app (sim/app.py): serve it, drive it in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (``.ci/install-browser``) and Playwright for Python
(the ``dev`` extra); no Playwright browser download. Skipped, with the reason, when either is
missing. The server always stops, whatever happens.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
NAME = "trustsim: trust in public-sector data sharing"  # sim.app.NAME
# where the screenshot goes: results/ (not tracked) unless TRUSTSIM_SCREENSHOT says otherwise;
# `make figures` sets it to docs/figures/app.png for the README
SCREENSHOT = Path(os.environ.get("TRUSTSIM_SCREENSHOT", ROOT / "results" / "app_screenshot.png"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: run .ci/install-browser", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is missing: pip install -e '.[dev]'")
pytest.importorskip("solara", reason="solara is missing: pip install -e '.[dev]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """``python -m solara run sim.app`` on a free port; yields its URL; always stopped."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", "sim.app", "--host", "127.0.0.1",
         "--port", str(port), "--production"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app server exited ({proc.returncode}):\n"
                            + (tmp_path / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the app server did not answer within 120 s:\n"
                            + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: solara and any children
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        log.close()


def _images(page) -> list[str]:
    return page.eval_on_selector_all("img", "els => els.map(e => e.src)")


def _at_week(page, week: int, timeout: float = 30_000) -> None:
    """Wait until the app's own summary says the model is at ``week`` (Mesa's step counter
    reads "Step: k" on 3.3 and "Time: k.0" on 3.5)."""
    summary = page.get_by_text(re.compile(rf"citizens\), week {week}$"))
    summary.wait_for(timeout=timeout)


def test_app_lever_step_and_screenshot(server, tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.goto(server)
            page.wait_for_selector(f"text={NAME}", timeout=60_000)
            _at_week(page, 0, timeout=60_000)
            page.wait_for_selector("text=breach_rate=0.05", timeout=60_000)
            page.wait_for_function("document.querySelectorAll('img').length >= 5",
                                   timeout=60_000)

            # Change a lever, the breach-rate slider to its maximum (one change event), and the
            # scenario; Reset rebuilds the model with both; the summary shows them.
            slider = page.locator(".v-input", has_text="Breach rate").locator("[role=slider]")
            slider.focus()
            slider.press("End")
            assert slider.get_attribute("aria-valuenow") == "5"
            # and the scenario picker to another file
            page.locator(".v-select", has_text="Scenario").click()
            page.locator(".v-menu__content .v-list-item", has_text="gp_records").click()
            page.get_by_role("button", name="Reset").click()
            page.wait_for_selector("text=breach_rate=5.0", timeout=30_000)
            page.get_by_text("Scenario: gp_records (").wait_for(timeout=30_000)

            before = _images(page)
            step = page.get_by_role("button", name="Step")
            for k in range(1, 4):
                step.click()
                _at_week(page, k)
            page.wait_for_function(
                "before => { const now = Array.from(document.querySelectorAll('img'), e => e.src);"
                " return now.length >= 5 && now.some((s, i) => s !== before[i]); }",
                arg=before, timeout=30_000)
            after = _images(page)
            assert len(after) >= 5, "expected the charts and the population view as images"
            assert sum(a != b for a, b in zip(before, after, strict=False)) >= 3, \
                "the charts did not re-render after stepping"

            shot = tmp_path / "app.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
