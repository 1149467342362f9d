"""The scenario files that ship with trustsim, and finding one by its bare name.

The files live in ``scenarios/`` at the repository's root; a wheel carries them as the data
package ``sim._scenarios`` (pyproject.toml maps it onto that folder), so the commands and the app
find them whether trustsim runs from a checkout, an editable install or an installed wheel.
``trustsim run baseline`` (a name with no folder and no suffix, when no such file exists) runs
the shipped ``baseline.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # the sim package


def folder() -> Path:
    """The folder of the shipped scenario files: ``sim/_scenarios`` in an installed wheel,
    ``scenarios/`` beside the package in a checkout."""
    installed = _PACKAGE / "_scenarios"
    return installed if installed.is_dir() else _PACKAGE.parent / "scenarios"


def names() -> list[str]:
    """The shipped scenarios' names (file stems), sorted."""
    return sorted(p.stem for p in folder().glob("*.yaml"))


def is_bare(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a bare name such as ``baseline``: no folder, no suffix."""
    p = Path(path)
    return len(p.parts) == 1 and not p.suffix and p.name not in (".", "..")


def find(path: str | os.PathLike[str]) -> Path:
    """``path`` itself if it exists or is more than a bare name; else the shipped scenario of
    that name if there is one; else ``path`` (whose reading then says it is not found)."""
    p = Path(path)
    if p.exists() or not is_bare(p):
        return p
    shipped = folder() / f"{p.name}.yaml"
    return shipped if shipped.is_file() else p
