"""`answerdesk agent add | list | remove | reset-password | set-languages` as an administrator types them."""

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
    assert listed == ["ayse@example.com\tAyşe\ten,de\tconsole\tnot seen"]


def test_a_removed_agent_keeps_their_name_on_past_messages_and_their_conversations_return_to_the_queue(tmp_path: Path) -> None:
    from bot.store.connect import open_store

    db = tmp_path / "desk.db"
    agent(db, "add", "ayse@example.com", "--name", "Ayşe", "--password-stdin", stdin="correct horse\n")
    store = open_store(str(db))
    ayse = store.get_agent_by_email("ayse@example.com")
    c = store.create_conversation("web", "visitor", "en")
    assert store.transition(c.id, ["bot"], "agent", agent=ayse.id)
    store.add_message(c.id, "agent", "Hello, Ayşe here.", agent=ayse.id)
    store.close()

    removed = agent(db, "remove", "ayse@example.com")
    assert removed.returncode == 0, removed.stderr
    assert "1 conversation(s) they had are back in the queue as missed" in removed.stdout
    store = open_store(str(db))
    assert store.get_conversation(c.id).state == "missed"
    assert store.get_agent(ayse.id).name == "Ayşe"  # past messages still name her
    store.close()
    assert agent(db, "list").stdout.startswith("no agents yet")
    assert "removed" in agent(db, "list", "--all").stdout
    again = agent(db, "remove", "ayse@example.com")
    assert again.returncode != 0 and "was removed; bring it back with 'answerdesk agent add ayse@example.com" in again.stderr
    back = agent(db, "add", "ayse@example.com", "--name", "Ayşe Y", "--password-stdin", stdin="another password\n")
    assert back.returncode == 0 and "Ayşe Y" in back.stdout, back.stderr
    assert agent(db, "list").stdout.splitlines() == ["ayse@example.com\tAyşe Y\ten\tconsole\tnot seen"]
