"""Files and folders that appear whole or not at all.

Every file trustsim writes outside a temporary results folder goes through ``write_atomic``: a
temporary file in the same folder (so the rename never crosses filesystems), given the
permissions of an ordinary file, then ``os.replace``d into place. A reader, a resumed sweep or a
second process never sees half a file, and an interrupted write leaves the old file as it was.
``results_folder`` does the same for a whole folder of results.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def umask() -> int:
    """This process's file-creation mask (reading it means setting it, so set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(path: str | os.PathLike[str]) -> None:
    """Give a file made by ``mkstemp`` (private, 0600) the permissions of an ordinary file."""
    os.chmod(path, 0o666 & ~umask())


def write_atomic(path: Path, write: Callable[[str], None]) -> Path:
    """Call ``write`` with a temporary path beside ``path``, then rename it into place.

    The temporary file is hidden (``.NAME.*.tmp``), so a folder listing or a glob for results
    never picks it up, and it is removed if ``write`` fails or is interrupted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        publish(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (indented, NaN allowed, a final newline) atomically."""
    return write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


class OutputError(Exception):
    """A results folder that cannot be made or must not be replaced (bad input: exit 2)."""


@contextmanager
def results_folder(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` only if the block succeeds.

    ``force`` replaces only a trustsim results folder (one with a manifest.json), never the
    folder the command runs in or one of its parents.
    """
    out = Path(out).resolve()
    if out.exists():
        if not force:
            raise OutputError(f"{out}: the results folder already exists; choose another --out "
                              "or add --force to replace it.")
        if not out.is_dir():
            raise OutputError(f"{out}: exists and is not a folder; choose another --out.")
        if not (out / "manifest.json").is_file():
            raise OutputError(f"{out}: exists and is not a trustsim results folder (it has no "
                              "manifest.json); --force replaces only earlier results. Choose "
                              "another --out.")
        if Path.cwd().resolve().is_relative_to(out):
            raise OutputError(f"{out}: cannot replace the folder the command runs in; choose "
                              "another --out.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        tmp.chmod(0o777 & ~umask())  # mkdtemp makes it private; results are ordinary files
    except OSError as err:
        raise OutputError(f"{out}: cannot create the results folder: {err.strerror}.") from None
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
