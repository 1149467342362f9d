"""The notebooks in notebooks/: committed with their outputs, and those outputs are what a run of
today's code prints.

Each notebook is executed with nbclient on the ``python3`` kernel that ipykernel installs into
this interpreter's environment (``sys.prefix/share/jupyter/kernels``), at its default sizes (the
ones its committed outputs were made with: 5,000 citizens, a few replicates, well under a minute)
in a scratch working directory: the notebooks find the repository root themselves. Every text
output of every cell must equal the committed one, and every cell must draw as many figures;
``make notebooks`` refreshes the committed outputs after a change to the model.
"""

from __future__ import annotations

import difflib
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_quickstart", "02_case_studies", "03_policy_levers", "04_sensitivity",
            "05_policy_frontier"]
LIMIT = 120  # seconds per notebook
# text each notebook must print (besides at least one figure)
KEY_OUTPUTS = {
    "01_quickstart": ["AgentSet", "Citizen(row=", "segment:"],
    "02_case_studies": ["national_pupil_database", "royal_free_deepmind", "story output"],
    "03_policy_levers": ["citizen_control", "public_interest_mandate", "no trust collapse"],
    "04_sensitivity": ["morris_quick", "seed_share", "widest ST confidence interval"],
    "05_policy_frontier": ["frontier_baseline", "frontier_gp2021", "on the frontier"],
}


def _figures(nb) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def test_the_five_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_its_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: cells not executed: {counts}"
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not run top to bottom: {counts}"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: committed with an error: {errors[0].get('ename')}"
    assert _figures(nb) >= 1, f"{path.name}: no figure in the committed outputs"
    assert "citizens: 5,000" in _outputs(code[0])[0], "commit the outputs of the default sizes"


def _outputs(cell) -> tuple[str, int]:
    """A code cell's text (stdout and stderr in order, then each result's text/plain, text/html
    ...) and the number of figures it drew; how a stream was split into outputs is ignored."""
    streams = "".join(o["text"] for o in cell.outputs if o.output_type == "stream")
    data = "\n".join(str(v) for o in cell.outputs for k, v in sorted(o.get("data", {}).items())
                     if k.startswith("text/"))
    figures = sum("image/png" in o.get("data", {}) for o in cell.outputs)
    return streams + data, figures


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reproduces_its_committed_outputs(path, tmp_path, monkeypatch):
    for name in ("TRUSTSIM_NOTEBOOK_CITIZENS", "TRUSTSIM_NOTEBOOK_REPLICATES"):
        monkeypatch.delenv(name, raising=False)  # the defaults the outputs were committed with
    monkeypatch.setenv("TRUSTSIM_ROOT", str(ROOT))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    monkeypatch.chdir(tmp_path)  # not the repository: the notebook must find its root itself
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=LIMIT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first cell that fails
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT, f"{path.name} took {elapsed:.0f} s"
    code = [c for c in nb.cells if c.cell_type == "code"]
    text = "\n".join(_outputs(c)[0] for c in code)
    for key in KEY_OUTPUTS[path.stem]:
        assert key in text, f"{path.name}: {key!r} not in the outputs"
    old_code = [c for c in committed.cells if c.cell_type == "code"]
    assert [c.source for c in old_code] == [c.source for c in code]
    for k, (old, new) in enumerate(zip(old_code, code, strict=True), start=1):
        (old_text, old_figures), (new_text, new_figures) = _outputs(old), _outputs(new)
        diff = "\n".join(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                               "committed", "fresh run", lineterm="", n=1))
        assert old_text == new_text, (
            f"{path.name}, code cell {k}: the committed outputs are not what the code prints "
            f"now (run `make notebooks`):\n{diff[:3000]}")
        assert old_figures == new_figures, f"{path.name}, code cell {k}: figures differ"
