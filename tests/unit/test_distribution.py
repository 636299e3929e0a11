"""What the source distribution holds: the documentation the README and ``--help`` point into.

The sdist is built in-process with the project's own build backend when the
environment's setuptools can read the metadata (77 or later: an SPDX licence
expression); the manifest template is always checked with setuptools' own
file list, which is what decides what the sdist holds beyond the package.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path

import pytest
import setuptools
from setuptools.command.egg_info import FileList

from seqdoctor.cli import cli, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))


def pointers(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """Every docs/ file a command's --help names."""
    named: set[str] = set()
    for command in cli.commands:
        assert main([command, "--help"]) == 0
        named |= set(re.findall(r"docs/[\w.-]+\.md", capsys.readouterr().out))
    return named


def test_every_help_pointer_into_docs_names_a_file_that_exists(
    capsys: pytest.CaptureFixture[str],
) -> None:
    named = pointers(capsys)
    assert "docs/prometheus.md" in named  # serve's pointer to its metrics and alert rules
    assert named <= set(DOCS)


def test_the_manifest_puts_the_docs_and_the_licence_in_the_sdist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    files = FileList()
    files.findall()
    for line in (ROOT / "MANIFEST.in").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            files.process_template_line(line)
    assert DOCS
    assert {*DOCS, "LICENSE"} <= set(files.files)


@pytest.mark.skipif(
    int(setuptools.__version__.split(".")[0]) < 77,
    reason=f"setuptools {setuptools.__version__} cannot read an SPDX licence expression",
)
def test_the_built_sdist_holds_the_docs_and_the_licence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from setuptools import build_meta  # noqa: PLC0415 - only where the backend is recent enough

    source = tmp_path / "source"  # a copy: building writes egg-info beside the package
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info"))
    monkeypatch.chdir(source)
    name = build_meta.build_sdist(str(tmp_path / "dist"))
    with tarfile.open(tmp_path / "dist" / name) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
        metadata = sdist.extractfile(f"{name.removesuffix('.tar.gz')}/PKG-INFO")
        assert metadata is not None
        pkg_info = metadata.read().decode()
    assert {*DOCS, "LICENSE", "README.md"} <= members
    assert "License-Expression: PostgreSQL" in pkg_info
    assert "Classifier: Topic :: Database" in pkg_info
