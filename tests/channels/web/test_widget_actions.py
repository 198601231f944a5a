"""The widget's copy of the message actions is the Python one, and it compares actions only through it."""

import re
from pathlib import Path

from bot.actions import Action

WIDGET = (Path(__file__).parents[3] / "channels" / "web" / "static" / "widget.js").read_text(encoding="utf-8")


def test_the_widget_knows_every_action_by_the_same_name_and_value() -> None:
    block = re.search(r"const ACTION = Object\.freeze\(\{(.*?)\}\);", WIDGET, re.S)
    assert block, "widget.js has no ACTION table"
    pairs = dict(re.findall(r"(\w+): \"([a-z_]+)\"", block.group(1)))
    assert pairs == {a.name: a.value for a in Action}


def test_the_widget_names_no_action_as_a_bare_string() -> None:
    outside = WIDGET.replace(re.search(r"const ACTION = Object\.freeze\(\{.*?\}\);", WIDGET, re.S).group(0), "")
    bare = [a.value for a in Action if re.search(rf"""action\s*===?\s*["']{a.value}["']|data-action=["']{a.value}["']""", outside)]
    assert not bare, f"widget.js compares actions as bare strings: {bare}"
