"""The notebooks in notebooks/: committed with their outputs, and they run, fast, at small sizes.

Each notebook is executed with nbclient on the ``python3`` kernel that ipykernel installs into
this interpreter's environment (``sys.prefix/share/jupyter/kernels``), with a small population
(``TRUSTSIM_NOTEBOOK_CITIZENS``) and few replicates, in a scratch working directory: the
notebooks find the repository root themselves.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_quickstart", "02_case_studies", "03_policy_levers", "04_sensitivity"]
LIMIT = 120  # seconds per notebook
# text each notebook must print (besides at least one figure)
KEY_OUTPUTS = {
    "01_quickstart": ["AgentSet", "Citizen(row=", "segment:"],
    "02_case_studies": ["national_pupil_database", "royal_free_deepmind", "story output"],
    "03_policy_levers": ["citizen_control", "public_interest_mandate", "no trust collapse"],
    "04_sensitivity": ["morris_quick", "seed_share", "widest ST confidence interval"],
}


def _texts(cell) -> str:
    out = []
    for output in cell.get("outputs", []):
        if "text" in output:
            out.append(output["text"])
        out.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(out)


def _figures(nb) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def test_the_four_notebooks_exist():
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
    assert "citizens: 5,000" in _texts(code[0]), "commit the outputs of the default sizes"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_small_size(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTSIM_NOTEBOOK_CITIZENS", "1000")
    monkeypatch.setenv("TRUSTSIM_NOTEBOOK_REPLICATES", "3")
    monkeypatch.setenv("TRUSTSIM_ROOT", str(ROOT))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    monkeypatch.chdir(tmp_path)  # not the repository: the notebook must find its root itself
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=LIMIT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first cell that fails
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT, f"{path.name} took {elapsed:.0f} s"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert _figures(nb) >= 1, f"{path.name}: drew no figure"
    text = "\n".join(_texts(c) for c in code)
    assert "citizens: 1,000" in text
    for key in KEY_OUTPUTS[path.stem]:
        assert key in text, f"{path.name}: {key!r} not in the outputs"
