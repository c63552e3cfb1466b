"""Installed distributions made up for a test: ``importlib.metadata`` finds their entry points exactly
as it finds a pip-installed package's, without installing anything into the test environment."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "ordo-example-plugin"


def fake_distribution(
    where: Path, monkeypatch: pytest.MonkeyPatch, name: str, entry_points: dict[str, dict[str, str]]
) -> None:
    """A dist-info for ``name`` under ``where``, on ``sys.path``, declaring ``entry_points`` by group."""
    dist = where / f"{name.replace('-', '_')}-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.0\n")
    lines: list[str] = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in points.items())
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(where))


def install_example_plugin(where: Path, monkeypatch: pytest.MonkeyPatch, groups: dict[str, str]) -> None:
    """The example plugin's package with the entry points its pyproject declares, each group under the
    name ``groups`` gives it (a test's own group, so the copy installed in the venv is not loaded too)."""
    project = tomllib.loads((EXAMPLE_PLUGIN / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"]
    # The package first, then the dist-info in front of it: an editable install leaves an egg-info in
    # src/ for the same distribution, and the first one found on sys.path is the one read.
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN / "src"))
    fake_distribution(
        where, monkeypatch, project["name"], {groups[group]: declared[group] for group in groups}
    )
