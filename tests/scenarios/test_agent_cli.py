"""`answerdesk agent add | list | reset-password | set-languages` as an administrator types them."""

import subprocess
import sys
from pathlib import Path

ANSWERDESK = Path(sys.executable).with_name("answerdesk")


def agent(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"ANSWERDESK_DB": str(db), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(ANSWERDESK), "agent", *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def test_agents_are_added_listed_and_changed_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    added = agent(db, "add", "ayse@example.com", "--name", "Ayşe", "--languages", "tr,en", "--password-stdin", stdin="correct horse\n")
    assert added.returncode == 0 and "agent ayse@example.com (Ayşe, speaks tr, en) created" in added.stdout, added.stderr
    again = agent(db, "add", "ayse@example.com", "--name", "Ayşe", "--password-stdin", stdin="whatever else\n")
    assert again.returncode != 0 and "already has an account; change it with 'answerdesk agent reset-password ayse@example.com'" in again.stderr

    short = agent(db, "reset-password", "ayse@example.com", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "must be at least 8 characters" in short.stderr
    assert agent(db, "reset-password", "ayse@example.com", "--password-stdin", stdin="a better password\n").stdout.strip() == "agent ayse@example.com: password changed"
    assert "now speaks en, de" in agent(db, "set-languages", "ayse@example.com", "en,de").stdout
    missing = agent(db, "reset-password", "nobody@example.com", "--password-stdin", stdin="long enough\n")
    assert missing.returncode != 0 and "no agent has the address 'nobody@example.com'" in missing.stderr

    listed = agent(db, "list").stdout.splitlines()
    assert listed == ["ayse@example.com\tAyşe\ten,de\tconsole"]
