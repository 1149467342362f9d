"""The interactive app (sim/app.py): its lever table, its entry point, and a browser test.

The lever tests check what the table derives (TrustApp's keywords, the widgets, the policy change)
against the programme's field definitions and the baseline scenario. The browser test serves the
app and drives it in headless Chromium: it needs Debian's chromium at /usr/bin/chromium
(``.ci/install-browser``) and Playwright for Python (the ``dev`` extra); no Playwright browser
download. It is skipped, with the reason, when either is missing; its server always stops,
whatever happens.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# where the screenshot goes: results/ (not tracked) unless TRUSTSIM_SCREENSHOT says otherwise;
# `make figures` sets it to docs/figures/app.png for the README
SCREENSHOT = Path(os.environ.get("TRUSTSIM_SCREENSHOT", ROOT / "results" / "app_screenshot.png"))

pytest.importorskip("solara", reason="solara is missing: pip install -e '.[dev]'")

with warnings.catch_warnings():  # solara's hook check on Mesa's own ComponentsView, not ours
    warnings.filterwarnings("ignore", "(?s).*found despite early return", UserWarning)
    from mesa.visualization import Slider  # (after the skip: the dev extra)

    from sim import app
    from sim import scenario as scenario_mod
    from sim.programmes import Consent, Programme

SETTINGS = ["scenario_name", "n_citizens", "apply_levers", "rng"]  # TrustApp's own keywords


# ------------------------------------------------------------------------------------- levers
def test_trustapp_keywords_are_the_levers_with_baseline_defaults():
    """SolaraViz reads the signature: every model_params entry must be an explicit keyword."""
    params = inspect.signature(app.TrustApp).parameters
    assert list(params) == SETTINGS + [lever.name for lever in app.LEVERS]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert all(p.default is not inspect.Parameter.empty for p in params.values())
    assert set(app.model_params) <= set(params)
    for lever in app.LEVERS:
        for field in lever.fields:
            assert params[lever.name].default == app._get(app.BASELINE, field), field


def test_lever_defaults_are_the_baseline_scenario():
    """As they start, the levers change nothing in the default scenario's programme."""
    s = scenario_mod.load(app.SCENARIOS / f"{app.DEFAULTS['scenario_name']}.yaml")
    programme = s.programmes[app.LEVER_PROGRAMME]
    assert programme.changed(**app.changes(
        {lever.name: lever.default for lever in app.LEVERS})) == programme


def test_widgets_follow_the_field_definitions():
    for lever in app.LEVERS:
        widget = app.model_params[lever.name]
        assert (widget["label"] if isinstance(widget, dict) else widget.label) == lever.label
        if lever.name == "consent":
            assert widget == {"type": "Select", "value": app.BASELINE.consent.value,
                              "values": [c.value for c in Consent], "label": lever.label}
            continue
        assert isinstance(widget, Slider) and widget.is_float_slider
        assert widget.value == app.DEFAULTS[lever.name]
        field = app._field(lever.fields[0])
        bounds = {type(m).__name__: m for m in field.metadata}
        assert widget.min == bounds["Ge"].ge
        assert widget.max == (lever.top if lever.top is not None else bounds["Le"].le)
        assert widget.max <= bounds["Le"].le  # a slider never offers a value the field refuses
    # breach_rate's field allows up to 52 a year; the slider keeps the app's range
    assert app.model_params["breach_rate"].max == 5.0


def test_mandate_legitimacy_sets_test_and_oversight():
    values = {**{lever.name: lever.default for lever in app.LEVERS}, "mandate_legitimacy": 0.35}
    assert app.changes(values)["mandate"] == {
        "strength": app.DEFAULTS["mandate_strength"], "public_interest_test": 0.35,
        "oversight": 0.35}


def test_levers_become_one_policy_change_at_week_1():
    model = app.TrustApp(n_citizens=200, consent="opt_in", mandate_legitimacy=0.2, security=0.3)
    assert model.levers == {**{lever.name: lever.default for lever in app.LEVERS},
                            "consent": "opt_in", "mandate_legitimacy": 0.2, "security": 0.3}
    before = model.programmes[model.programme_index(app.LEVER_PROGRAMME)]
    model.step()
    model.step()
    after = model.programmes[model.programme_index(app.LEVER_PROGRAMME)]
    assert after == Programme.model_validate({
        **before.model_dump(), "consent": "opt_in", "security": 0.3,
        "mandate": {**before.mandate.model_dump(), "public_interest_test": 0.2,
                    "oversight": 0.2}})


def test_levers_off_and_unknown_levers():
    assert app.TrustApp(n_citizens=200, apply_levers=False).levers == {}
    with pytest.raises(TypeError, match="securty"):
        app.TrustApp(securty=0.5)


# ------------------------------------------------------------------------------ entry point
def test_main_parses_its_own_options(monkeypatch, capsys):
    served = []
    monkeypatch.setattr(app, "serve", lambda host, port: served.append((host, port)) or 0)
    assert app.main([]) == 0
    assert app.main(["--host", "0.0.0.0", "--port", "9000"]) == 0
    assert served == [(app.HOST, app.PORT), ("0.0.0.0", 9000)]
    with pytest.raises(SystemExit) as exit_:
        app.main(["--port", "0"])
    assert exit_.value.code == 2 and "--port" in capsys.readouterr().err


def test_app_does_not_import_the_command_line():
    """sim.cli imports sim.app for `trustsim app`; the other direction would be a circle."""
    tree = ast.parse(Path(app.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not {name for name in imported if name == "sim.cli" or name.startswith("sim.cli.")}


# ------------------------------------------------------------------------------------ browser
def _browser():
    """Playwright's sync API, or skip the browser test with the reason."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run .ci/install-browser")
    return pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install -e '.[dev]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, trustsim_env):
    """``python -m solara run sim.app`` on a free port; yields its URL; always stopped."""
    _browser()  # skip before starting a server no browser would visit
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", "sim.app", "--host", "127.0.0.1",
         "--port", str(port), "--production"],
        cwd=ROOT, env=trustsim_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
    sync_api = _browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.goto(server)
            page.wait_for_selector(f"text={app.NAME}", timeout=60_000)
            _at_week(page, 0, timeout=60_000)
            levers = ", ".join(f"{lever.name}={app.DEFAULTS[lever.name]}" for lever in app.LEVERS)
            page.get_by_text(f"Levers on gp_records from week 1: {levers}").wait_for(
                timeout=60_000)  # consent=opt_out, ..., breach_rate=0.05
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
