"""MkDocs hooks (mkdocs.yml): the site carries the repository files its pages link to.

The pages in docs/ are also read in the repository itself, so they link to files outside docs/
by relative paths (``../scenarios/baseline.yaml``, ``../tests/test_docs.py``,
``../notebooks/01_quickstart.ipynb``), which MkDocs cannot follow. These hooks add every such
file, and every notebook, to the site (the notebooks become pages through mkdocs-jupyter) and
point the links at them, so the site has no broken link and needs no repository host.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
#: a relative Markdown link (or image) that starts by leaving its folder
LINK = re.compile(r"(\]\()(\.\./[^)\s#]+)")


def _outside(base: str, target: str) -> str | None:
    """The repository path of a link from a page in ``base`` (a folder of docs/) that leaves
    docs/, or None for a link that stays inside."""
    resolved = posixpath.normpath(posixpath.join(base, target))
    return resolved[3:] if resolved.startswith("../") else None


@event_priority(100)  # before mkdocs-jupyter makes pages of the notebooks
def on_files(files: Files, config: Any) -> Files:
    """Add the notebooks and the repository files the pages link to."""
    docs = Path(config["docs_dir"])
    wanted = {p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    for page in docs.rglob("*.md"):
        base = page.parent.relative_to(docs).as_posix()
        for _, target in LINK.findall(page.read_text(encoding="utf-8")):
            path = _outside("" if base == "." else base, target)
            if path and (ROOT / path).is_file():
                wanted.add(path)
    for path in sorted(wanted):
        if files.get_file_from_path(path) is None:
            files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links that leave docs/ at the copies ``on_files`` added."""
    base = posixpath.dirname(page.file.src_uri)

    def relink(match: re.Match[str]) -> str:
        path = _outside(base, match.group(2))
        if path is None or files.get_file_from_path(path) is None:
            return match.group(0)
        return match.group(1) + posixpath.relpath(path, base or ".")

    return LINK.sub(relink, markdown)
