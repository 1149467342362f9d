"""trustsim as a package: what pyproject.toml ships, the files a user or a citation needs, and a
wheel that works on its own.

The integration test builds a wheel from this checkout, installs it into a fresh virtualenv that
borrows the dependencies of the running one (a ``.pth`` line naming its site-packages, which does
not run the editable install's import hook), and runs the command line and the app from there,
in a folder outside the checkout: so ``sim`` and the scenario files really come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds: building a wheel, and the first run compiles the model's kernels


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ what ships
def test_every_package_under_sim_is_listed_and_the_scenarios_are_mapped():
    tool = _pyproject()["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "sim").rglob("__init__.py")}
    assert set(tool["packages"]) == found | {"sim._scenarios"}
    assert tool["package-dir"] == {"sim._scenarios": "scenarios"}
    assert tool["package-data"]["sim._scenarios"] == ["*.yaml"]
    assert not (ROOT / "sim" / "_scenarios").exists()  # the files live in scenarios/ only


def test_license_and_citation():
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 trustsim developers" in license_text
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff)  # what CFF 1.2.0 requires
    assert cff["version"] == project["version"] and cff["license"] == "MIT"
    assert all("name" in a or "family-names" in a for a in cff["authors"])


def test_changelog_has_an_unreleased_section_and_the_current_version():
    import sim

    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Keep a Changelog" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Unreleased"
    assert any(h.startswith(f"## {sim.__version__} ") for h in headings), headings


def test_a_bare_name_finds_a_shipped_scenario_unless_a_file_has_that_name(tmp_path,
                                                                          monkeypatch):
    from sim.scenario import bundled

    monkeypatch.chdir(tmp_path)
    assert bundled.folder() == ROOT / "scenarios"  # a checkout: no sim/_scenarios
    assert "baseline" in bundled.names() and "gp_records" in bundled.names()
    assert bundled.find("baseline") == ROOT / "scenarios" / "baseline.yaml"
    assert bundled.find("nothing_like_it") == Path("nothing_like_it")
    for given in ("baseline.yaml", "x/baseline", "../baseline"):  # more than a bare name
        assert bundled.find(given) == Path(given)
    (tmp_path / "baseline").write_text("name: mine\n")
    assert bundled.find("baseline") == Path("baseline")  # a file of that name wins


# ------------------------------------------------------------------------------ a wheel
def _copy_checkout(to: Path) -> None:
    """The files git tracks or would track (edits included), as a clean source tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True, check=True,
                            timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)



@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A virtualenv with the wheel of this checkout installed and, through a .pth line, the
    running environment's packages, but not its editable trustsim."""
    root = tmp_path_factory.mktemp("wheel")
    source, wheels, venv = root / "src", root / "dist", root / "venv"
    source.mkdir()
    _copy_checkout(source)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(wheels), str(source)], capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = wheels.glob("trustsim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sim/_scenarios/baseline.yaml" in names
    shipped = {p.name for p in (ROOT / "scenarios").glob("*.yaml")}
    assert {Path(n).name for n in names if n.startswith("sim/_scenarios/")} == shipped
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=TIMEOUT)
    python = venv / "bin" / "python"
    # install first, into the empty venv: pip must not see (or touch) the editable trustsim
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "-q", "--no-deps", "--no-index", str(wheel)],
                               capture_output=True, text=True, timeout=TIMEOUT)
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()
    # The dependencies appear inside the venv, as an install would put them (solara watches
    # every module outside sys.prefix for reloading, and reads Jupyter's configuration from
    # sys.prefix/etc and share): a link to the running environment's site-packages, named by a
    # plain path line in a .pth file, so the .pth files there (the editable hook) do not run.
    (venv / "dependencies").symlink_to(sysconfig.get_paths()["purelib"])
    Path(site, "dependencies.pth").write_text(f"{venv / 'dependencies'}\n")
    for data in ("etc/jupyter", "share/jupyter"):
        if (Path(sys.prefix) / data).is_dir():
            (venv / data).parent.mkdir(parents=True, exist_ok=True)
            (venv / data).symlink_to(Path(sys.prefix) / data)
    return venv


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.mark.integration
def test_the_wheel_runs_a_shipped_scenario_by_name(wheel_venv, tmp_path):
    bin_ = wheel_venv / "bin"
    where = subprocess.run(
        [str(bin_ / "python"), "-c", "import sys, sim, sim.scenario as sc; print(sim.__file__); "
         "print(sc.bundled.folder()); print([type(f).__name__ for f in sys.meta_path])"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert where.returncode == 0, where.stderr
    package, scenarios, finders = where.stdout.splitlines()
    assert Path(package).is_relative_to(wheel_venv), package  # sim from the wheel
    assert Path(scenarios) == Path(package).parent / "_scenarios"
    assert "Editable" not in finders, finders  # the checkout's import hook is not active

    out = tmp_path / "out"
    run = subprocess.run([str(bin_ / "trustsim"), "run", "baseline", "--citizens", "500",
                          "--steps", "3", "--replicates", "1", "--out", str(out), "--quiet"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (out / "timeseries.csv").is_file() and (out / "manifest.json").is_file()
    assert str(Path(scenarios) / "baseline.yaml") in (out / "manifest.json").read_text()
    checked = subprocess.run([str(bin_ / "trustsim"), "validate", "baseline", "gp_records"],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=TIMEOUT)
    assert checked.returncode == 0 and checked.stdout.count(": OK (") == 2, checked.stderr
    app = subprocess.run([str(bin_ / "python"), "-c", "from sim import app; "
                          "assert 'gp_records' in app.SCENARIO_NAMES, app.SCENARIO_NAMES; "
                          "app.TrustApp(scenario_name='gp_records', n_citizens=200).step()"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert app.returncode == 0, app.stderr[-3000:]


@pytest.mark.integration
def test_the_wheel_serves_the_app(wheel_venv, tmp_path, wait_for, free_port, stop_group):
    pytest.importorskip("solara", reason="solara is missing: pip install -e '.[dev]'")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([str(wheel_venv / "bin" / "trustsim"), "app", "--port", str(port)],
                            cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(answers, f"an answer from the app at {url}", timeout=180, proc=proc,
                 interval=0.3)
    finally:
        stop_group(proc)
        log.close()
