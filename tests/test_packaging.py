"""The declared dependency ranges are the ones the lowest-versions environment installs."""

from __future__ import annotations

import sys

from packaging.requirements import Requirement
from packaging.version import Version

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def test_the_lowest_versions_environment_pins_every_declared_floor() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        (floor,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        floors[requirement.name] = Version(floor)
    lines = (ROOT / "tests" / "constraints" / "lowest.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert {name: Version(version) for name, version in pins.items()} == floors
    # and that environment runs the lowest Python requires-python admits
    assert project["requires-python"] == ">=3.10"
    assert "$(PYTHON310) -m venv" in (ROOT / "Makefile").read_text()
