"""What the test modules share: which tests are integration tests, and the common fixtures.

Integration tests start processes (the ``trustsim`` command line, the experiment scripts, worker
pools, a Dask cluster, the app's server), execute the notebooks, drive a browser or rerun the
canonical results; they carry the ``integration`` marker. ``make test`` runs everything;
``make test-fast`` deselects ``integration`` and ``slow`` (ruff, then the unit and property
tests, in-process). Modules mark their own tests; for the modules listed below the marker is
added here, by module and by test name. A test without the marker that starts a Python process
or a worker process fails and says so, so a misclassified test cannot slow the fast subset.

The sim imports are inside the fixtures: a module that does not build a model is not stopped by
a broken import.
"""

from __future__ import annotations

import multiprocessing.process
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TIMEOUT = 180  # seconds for any one command: a hung command fails the test instead of CI

# ------------------------------------------------------------------ classification
#: modules whose every test is an integration test: each runs ``python -m sim.cli`` in a
#: subprocess, or asks git what is committed and reruns the canonical results' commands
INTEGRATION_MODULES = {"test_cli.py", "test_results.py"}
#: integration tests of modules that mix both, by module and test name
INTEGRATION_TESTS = {
    "test_app.py": {"test_app_lever_step_and_screenshot"},  # a server and Chromium
    "test_notebooks.py": {"test_notebook_reproduces_its_committed_outputs"},  # a Jupyter kernel
    "test_frontier.py": {
        "test_resume_two_workers_and_dask_give_the_same_files",  # a process pool, Dask
        "test_the_command_line",  # the command line
    },
    "test_sweep.py": {
        "test_serial_processes_and_dask_give_identical_indices",  # a process pool and Dask
        "test_a_sweep_killed_with_sigkill_resumes_to_the_same_indices",  # the command line
        "test_a_dying_worker_is_replaced_and_its_runs_redone",  # a process pool
    },
}
#: programs that a test without the ``integration`` marker must not start; others are fine (git,
#: which a manifest asks for the commit, and the helpers libraries call, such as fc-list)
PROCESS_PROGRAMS = ("python", "trustsim", "jupyter", "solara", "chromium")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        module = item.path.name
        modules.setdefault(module, item)
        if (module in INTEGRATION_MODULES
                or getattr(item, "originalname", item.name) in INTEGRATION_TESTS.get(module, ())):
            item.add_marker(pytest.mark.integration)
    for module, names in INTEGRATION_TESTS.items():
        if module in modules and hasattr(modules[module], "module"):
            for name in sorted(names):
                if not hasattr(modules[module].module, name):
                    warnings.warn(f"tests/conftest.py lists {module}::{name} as an integration "
                                  "test, but there is no such test", pytest.PytestWarning,
                                  stacklevel=1)


def _program(args, executable=None) -> str:
    if executable is None and isinstance(args, str | bytes | os.PathLike):
        args = shlex.split(os.fsdecode(args)) or [""]
    return Path(os.fsdecode(executable or args[0])).name


@pytest.fixture(autouse=True)
def _no_processes_outside_integration_tests(request, monkeypatch):
    """Fail a test without the ``integration`` marker that starts Python or a worker process."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    where, refused = request.node.nodeid, []

    def refuse(what: str):
        message = f"{where} starts {what}: run it in-process or mark it integration (conftest)"
        if threading.current_thread() is not threading.main_thread():
            refused.append(message)  # a thread's failure would not fail the test: at its end
        pytest.fail(message, pytrace=False)

    class Popen(subprocess.Popen):
        def __init__(self, args, *rest, **kw):
            program = _program(args, kw.get("executable"))
            if program.startswith(PROCESS_PROGRAMS) or program == Path(sys.executable).name:
                refuse(f"the process {program!r}")
            super().__init__(args, *rest, **kw)

    def start(process):
        refuse(f"the worker process {process.name!r}")

    monkeypatch.setattr(subprocess, "Popen", Popen)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    yield
    if refused:
        pytest.fail(refused[0], pytrace=False)


# ------------------------------------------------------------------ processes
@pytest.fixture(scope="session")
def trustsim_env() -> dict[str, str]:
    """The environment for a child process: this checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="session")
def run_cli(trustsim_env) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args, cwd=folder)``: ``python -m sim.cli ARGS`` in ``cwd``, with no terminal and
    no standard input; stdout and stderr captured as text."""

    def run(*args: object, cwd: Path, timeout: float = TIMEOUT):
        return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd,
                              env=trustsim_env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    return run


@pytest.fixture(scope="session")
def run_script(trustsim_env) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_script("experiments/x.py", *args)``: a script of the repository run with this
    interpreter, from the repository root unless ``cwd`` says otherwise."""

    def run(script: str, *args: object, cwd: Path = ROOT, timeout: float = TIMEOUT):
        return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd,
                              env=trustsim_env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    return run


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., None]:
    """``wait_for(condition, "what", proc=proc)``: poll until ``condition()`` holds; fail the test
    if ``timeout`` seconds pass first or ``proc`` exits first."""

    def wait(condition: Callable[[], object], what: str, *, timeout: float = 60,
             proc: subprocess.Popen | None = None, interval: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if proc is not None and proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the process exited ({proc.returncode}) before {what}:\n"
                            f"{out or ''}{err or ''}"[-3000:])
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:g} s")
            time.sleep(interval)

    return wait


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()``: a local TCP port nobody listens on now, for a server under test."""

    def port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return port


@pytest.fixture(scope="session")
def stop_group() -> Callable[[subprocess.Popen], None]:
    """``stop_group(proc)``: end a process started in a session of its own (a server and the
    children it starts): SIGTERM to the group, SIGKILL if it is still there 15 s later."""

    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

    return stop


# ------------------------------------------------------------------ files
@pytest.fixture
def scenario_dir(tmp_path) -> Path:
    """A scratch folder holding a copy of ``scenarios/baseline.yaml`` for files to extend."""
    shutil.copy(BASELINE, tmp_path / "baseline.yaml")
    return tmp_path


@pytest.fixture
def write_file(tmp_path) -> Callable[..., Path]:
    """``write_file(name, text, folder=tmp_path)``: write UTF-8 text (folders made as needed)
    and return the path."""

    def write(name: str, text: str, folder: Path | None = None) -> Path:
        path = (tmp_path if folder is None else folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


# ------------------------------------------------------------------ models and programmes
@pytest.fixture
def small_model():
    """A fresh baseline model of 500 citizens (with citizen agents), seed 1, at step 0."""
    from sim import TrustModel

    return TrustModel(500, rng=1)


@pytest.fixture(scope="session")
def run_model() -> Callable:
    """``run_model(model, steps)``: step the model and return its time series."""

    def run(model, steps: int):
        for _ in range(steps):
            model.step()
        return model.timeseries()

    return run


@pytest.fixture(scope="session")
def agencies():
    """The baseline's agencies, whose columns the programme tables use."""
    from sim import baseline

    return baseline.AGENCIES


@pytest.fixture(scope="session")
def prog() -> Callable:
    """``prog(**fields)``: a programme from the NHS to university researchers, with any fields
    changed."""
    from sim.programmes import Programme

    def make(**fields) -> Programme:
        return Programme(**{"name": "p", "holder": "nhs", "recipient": "university", **fields})

    return make


@pytest.fixture(scope="session")
def table(agencies) -> Callable:
    """``table(*programmes)``: the programmes' ``ProgrammeTable`` over the baseline agencies."""
    from sim.programmes import ProgrammeTable

    def make(*programmes):
        return ProgrammeTable.build(programmes, agencies)

    return make
