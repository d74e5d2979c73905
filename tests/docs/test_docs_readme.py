"""The README tells the truth about what the code has: settings, commands, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from hub.cli import build_parser
from hub.settings_doc import settings_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_opens_with_the_demo_and_test_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block
    assert "make test" in first_block


def test_the_settings_table_is_current() -> None:
    block = README.split("<!-- settings-table")[1].split("<!-- /settings-table -->")[0]
    assert settings_table() in block, "regenerate it with: python -m hub.settings_doc"


def test_every_documented_command_exists() -> None:
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in re.findall(r"^\| `hub (\w+)", README, flags=re.MULTILINE):
        assert command in sub, f"README documents hub {command}, which does not exist"


def test_every_linked_file_exists() -> None:
    for target in re.findall(r"\]\(((?:docs|devices|rules|mosquitto|hub)/[^)#]+)\)", README):
        assert (ROOT / target).exists(), f"README links {target}, which does not exist"
