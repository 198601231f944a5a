"""Promises about the project itself: layers that hold, documented settings and commands."""

import ast
import re
from pathlib import Path

from bot.cli import _parser
from bot.config import describe_settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


# -- layers: what may import what ----------------------------------------------------------

LAYERS = ("bot", "channels", "index")
CHANNEL_PACKAGES = ("web", "slack", "telegram", "chat")  # chat: the core every chat channel is built on
COMPOSITION_ROOT = "channels.serve"  # the one module that puts the channels together
LAUNCHER = "bot.cli"  # the one module of bot/ that may reach for channels (to start them)
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imports(path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """Every module `path` imports (at any depth of its code, lazy imports too), with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.append((base, node.lineno))
            found += [(f"{base}.{a.name}", node.lineno) for a in node.names if f"{base}.{a.name}" in known]
    return found


def _edges() -> list[tuple[str, str, Path, int]]:
    known = _modules()
    return [(name, target, path, line) for name, path in known.items() for target, line in _imports(path, known)]


def _channel(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "channels" and len(parts) > 1 and parts[1] in CHANNEL_PACKAGES else None


def test_index_imports_nothing_of_bot_or_channels() -> None:
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {t}" for m, t, p, line in _edges() if m.startswith("index") and t.split(".")[0] in ("bot", "channels")]
    assert not wrong, "index/ is the bottom layer:\n" + "\n".join(wrong)


def test_bot_imports_no_channel_but_in_the_launcher() -> None:
    frameworks = {"flask", "slack_bolt", "slack_sdk", "telegram", "uvicorn", "uvicorn_worker", "a2wsgi", "gunicorn", "channels"}
    wrong = [
        f"{p.relative_to(ROOT)}:{line} imports {t}"
        for m, t, p, line in _edges()
        if m.split(".")[0] == "bot" and m != LAUNCHER and t.split(".")[0] in frameworks
    ]
    assert not wrong, f"only {LAUNCHER} may reach for channels:\n" + "\n".join(wrong)


def test_no_channel_imports_another() -> None:
    wrong = []
    for m, t, p, line in _edges():
        own, other = _channel(m), _channel(t)
        if own and other and other != own and not (other == "chat" and own != "chat"):
            wrong.append(f"{p.relative_to(ROOT)}:{line} imports {t}")
    assert not wrong, "a channel may use the chat core, never another channel:\n" + "\n".join(wrong)


def test_one_composition_root_puts_the_channels_together() -> None:
    reach: dict[str, set[str]] = {}
    for m, t, p, _line in _edges():
        if m.split(".")[0] in ("bot", "channels") and _channel(t) and _channel(t) != _channel(m):
            reach.setdefault(m, set()).add(_channel(t))
    several = {m: sorted(c) for m, c in reach.items() if len(c - {"chat"}) > 1}
    assert set(several) == {COMPOSITION_ROOT}, f"modules that wire several channels: {several}"


def test_faiss_is_set_up_in_the_index_layer_only() -> None:
    wrong = [f"{p.relative_to(ROOT)}:{line}" for m, t, p, line in _edges() if t.split(".")[0] == "faiss" and not m.startswith("index")]
    assert not wrong, "FAISS (its threads too) belongs to index/:\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {}
    for m, t, _p, _line in _edges():
        if t.split(".")[0] in LAYERS and t != m:
            graph.setdefault(m, set()).add(t)
    circles, done, path = [], set(), []

    def visit(node: str) -> None:
        if node in path:
            circles.append(" -> ".join(path[path.index(node):] + [node]))
            return
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if not nxt.startswith(node + "."):  # a package importing its own modules is no circle
                visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules().values() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_says_what_it_is_for() -> None:
    silent = [str(p.relative_to(ROOT)) for name, p in _modules().items() if p.name == "__init__.py" and not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not silent, f"packages without a docstring: {silent}"


# -- documentation ----------------------------------------------------------------------------


def test_the_architecture_page_names_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT)) for p in _modules().values() if p.name != "__init__.py" and f"`{p.relative_to(ROOT)}`" not in page]
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    for env, _default, _help in describe_settings():
        assert f"`{env}`" in README, f"{env} is not documented in README.md"


def test_every_command_is_in_the_readme() -> None:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert re.search(rf"answerdesk {name}\b", README), f"'answerdesk {name}' is not documented in README.md"
