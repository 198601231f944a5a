"""Promises about the project itself: a pure core, documented settings and commands."""

import ast
import re
from pathlib import Path

from bot.cli import _parser
from bot.config import describe_settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_core_never_imports_channel_frameworks() -> None:
    forbidden = {"flask", "slack_bolt", "slack_sdk", "telegram", "channels"}
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("index/**/*.py")]:
        if path == ROOT / "bot" / "cli.py":
            continue  # the composition root: `serve` wires the web channel to the desk
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"


def test_every_setting_is_in_the_readme() -> None:
    for env, _default, _help in describe_settings():
        assert f"`{env}`" in README, f"{env} is not documented in README.md"


def test_every_command_is_in_the_readme() -> None:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert re.search(rf"answerdesk {name}\b", README), f"'answerdesk {name}' is not documented in README.md"
