import io
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.config import Settings
from bot.reports.outcomes import OUTCOMES, ConversationFacts, agent_first_response, bot_first_response, classify_outcome, conversation_facts
from bot.reports.figures import Period, build_report, channel_figures, shares
from bot.reports.command import ReportError, parse_period, run_report
from bot.reports.html import render_html
from bot.reports.text import duration, format_report
from bot.store.model import Conversation, Feedback, Message, Ticket
from bot.store.connect import open_store
from index.encoders import HashEncoder

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")


class Thread:
    """Messages of one conversation, written in order, `seconds` after T0 each."""

    ids = iter(range(1, 10**6))

    def __init__(self, conversation_id: str = "c1", start: datetime = T0) -> None:
        self.conversation_id = conversation_id
        self.start = start
        self.messages: list[Message] = []

    def _add(self, author: str, at: float, text: str = "", **fields: Any) -> Message:
        m = Message(next(self.ids), self.conversation_id, author, text, self.start + timedelta(seconds=at), **fields)  # type: ignore[arg-type]
        self.messages.append(m)
        return m

    def customer(self, text: str, at: float = 0) -> Message:
        return self._add("customer", at, text)

    def bot(self, action: str, at: float = 0, reason: str | None = None, lang: str = "en", article: str | None = None) -> Message:
        decision = {"action": action, "reason": reason, "candidates": []} if reason else None
        return self._add("bot", at, action, lang=lang, action=action, decision=decision, article_id=article)

    def agent(self, text: str = "hello, I'm Ana", at: float = 0) -> Message:
        return self._add("agent", at, text, agent="ana")


def conversation(conversation_id: str = "c1", channel: str = "web", state: str = "closed", created: datetime = T0) -> Conversation:
    return Conversation(conversation_id, channel, f"user-{conversation_id}", "en", state, None, None, created, created, None, None)  # type: ignore[arg-type]


# -- outcomes


def answered() -> Thread:
    t = Thread()
    t.customer("I forgot my password")
    t.bot("answer", reason="confident", article="reset-password")
    return t


def handed_off(offline: bool = False) -> Thread:
    t = Thread()
    t.customer("Do you sell gift cards?")
    t.bot("handoff", reason="not_covered")
    if offline:
        t.bot("outside_hours")
        t.bot("ask_email")
    return t


def test_each_outcome_from_its_messages() -> None:
    assert classify_outcome(answered().messages, 0, "bot") == "deflected"
    assert classify_outcome(handed_off().messages, 0, "waiting") == "waiting"
    assert classify_outcome(handed_off().messages, 0, "agent") == "waiting"  # taken, no word yet
    assert classify_outcome(handed_off().messages, 0, "bot") == "abandoned"
    assert classify_outcome(handed_off(offline=True).messages, 0, "bot") == "abandoned"
    assert classify_outcome(handed_off(offline=True).messages, 1, "closed") == "ticket"
    t = handed_off()
    t.bot("agent_joined")
    t.agent()
    assert classify_outcome(t.messages, 0, "closed") == "agent"
    t = Thread()
    t.customer("password")
    t.bot("clarify", reason="close_candidates")
    assert classify_outcome(t.messages, 0, "bot") == "unanswered"
    t = Thread()
    t.customer("hello")
    t.bot("smalltalk", reason="greeting")
    assert classify_outcome(t.messages, 0, "bot") == "smalltalk_only"
    assert classify_outcome([], 0, "bot") == "no_reply"
    t = Thread()
    t.customer("anyone?")
    assert classify_outcome(t.messages, 0, "agent") == "no_reply"  # taken straight from the bot, nobody wrote yet


def test_a_missed_handoff_is_owed_an_answer_and_says_why_it_was_missed() -> None:
    """Issue 13: a handoff nobody could take stays in the queue as missed, not "abandoned"."""
    t = handed_off()
    t._add("bot", 1, "sorry", action="no_agent_available", decision={"missed": "nobody_available"})
    assert classify_outcome(t.messages, 0, "missed") == "missed"
    assert classify_outcome(t.messages, 1, "missed") == "ticket"
    assert classify_outcome(t.messages, 0, "closed") == "abandoned"  # the team closed it without a word: the customer had left
    facts = conversation_facts(conversation(state="missed"), t.messages, 0)
    assert (facts.nobody_available, facts.no_agent_in_time, facts.outcome) == (1, 0, "missed")
    assert agent_first_response(t.messages) is None  # it never waited in the queue
    waited = handed_off()
    waited._add("bot", 181, "sorry", action="no_agent_available", decision={"missed": "not_taken"})
    late = conversation_facts(conversation(state="missed"), waited.messages, 0)
    assert (late.nobody_available, late.no_agent_in_time) == (0, 1)
    waited.agent(at=4000)
    assert agent_first_response(waited.messages) == 4000  # answered later, counted from the handoff


def test_precedence_ticket_then_agent_then_handoff() -> None:
    t = handed_off()
    t.agent()
    assert classify_outcome(t.messages, 1, "closed") == "ticket"
    t = answered()
    t.bot("handoff_after_negative_feedback")  # the customer said "no" to the answer
    assert classify_outcome(t.messages, 0, "bot") == "abandoned"
    t = answered()
    t.bot("handoff_requested")  # the button
    assert classify_outcome(t.messages, 0, "waiting") == "waiting"
    t = answered()
    t.bot("feedback_thanks")
    assert classify_outcome(t.messages, 0, "bot") == "deflected"


def test_outcome_counts_add_up_exactly_on_random_conversations() -> None:
    rng = random.Random(3)
    actions = ["answer", "clarify", "smalltalk", "handoff", "handoff_requested", "outside_hours", "agent_joined", None]
    facts = []
    for n in range(500):
        t = Thread(f"c{n}")
        for _ in range(rng.randrange(0, 5)):
            t.customer("q")
            action = rng.choice(actions)
            if action:
                t.bot(action, reason="not_covered" if action == "handoff" else None)
            if rng.random() < 0.1:
                t.agent()
        facts.append(conversation_facts(conversation(f"c{n}", state=rng.choice(["bot", "waiting", "agent", "closed"])), t.messages, int(rng.random() < 0.1)))
    figures = channel_figures("web", facts, [])
    assert sum(figures.outcomes.values()) == figures.conversations == 500
    assert set(figures.outcomes) == set(OUTCOMES)
    assert sum(shares(figures.outcomes).values()) == 1000


@pytest.mark.parametrize("counts", [{"a": 1, "b": 1, "c": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 0, "c": 5, "d": 7, "e": 0, "f": 13}, {"a": 9999, "b": 1}])
def test_shares_add_up_to_exactly_100_percent(counts: dict[str, int]) -> None:
    split = shares(counts)
    assert sum(split.values()) == 1000
    assert all(abs(split[k] - counts[k] * 1000 / sum(counts.values())) < 1 for k in counts)
    assert shares({"a": 0}) == {}


# -- response times


def test_bot_first_response_is_from_the_first_customer_message() -> None:
    t = Thread()
    t.bot("greeting", at=0)  # a welcome before the customer wrote does not count
    t.customer("hi", at=10)
    t.bot("smalltalk", at=12)
    assert bot_first_response(t.messages) == 2
    assert bot_first_response(Thread().messages) is None


def test_agent_first_response_counts_from_entering_the_queue() -> None:
    t = Thread()
    t.customer("gift cards?", at=0)
    t.bot("handoff", at=1, reason="not_covered")
    t.bot("agent_joined", at=60)
    t.agent(at=95)
    t.agent(at=200)
    assert agent_first_response(t.messages) == 94


def test_offline_handoff_is_not_a_queue_entry() -> None:
    t = handed_off(offline=True)
    t.agent(at=3600)
    assert agent_first_response(t.messages) is None
    t = Thread()
    t.customer("hello")
    t.agent(at=30)  # an agent took it straight from the bot: no queue to measure
    assert agent_first_response(t.messages) is None


def test_duration_words() -> None:
    assert [duration(s) for s in (None, 0, 59.6, 125, 7260, 90000)] == ["-", "0s", "1m 00s", "2m 05s", "2h 01m", "1d 1h"]


# -- a channel's figures


def feedback(n: int, conversation_id: str, helpful: bool | None = None, csat: int | None = None) -> Feedback:
    return Feedback(n, conversation_id, n if helpful is not None else None, helpful, csat, T0)


def facts_of(conversation_id: str, thread: Thread, state: str = "closed", channel: str = "web", tickets: int = 0) -> ConversationFacts:
    return conversation_facts(conversation(conversation_id, channel, state), thread.messages, tickets)


def test_channel_figures() -> None:
    facts = [facts_of("a", answered()), facts_of("b", answered()), facts_of("c", handed_off(), "waiting"), facts_of("d", handed_off(offline=True), tickets=1)]
    fb = [feedback(1, "a", helpful=True), feedback(2, "b", helpful=False), feedback(3, "b", helpful=True), feedback(4, "d", csat=5),
          feedback(5, "d", csat=3), feedback(6, "d", csat=4), feedback(7, "zzz", csat=1)]
    f = channel_figures("web", facts, fb)
    assert (f.conversations, f.customer_messages, f.deflected, f.deflection_rate) == (4, 4, 2, 0.5)
    assert f.outcomes["waiting"] == 1 and f.outcomes["ticket"] == 1
    assert (f.handoffs, f.handoff_reasons["not_covered"], f.outside_hours, f.tickets) == (2, 2, 1, 1)
    assert (f.helpful_yes, f.helpful_no) == (2, 1) and f.helpful_rate == pytest.approx(2 / 3)
    assert f.csat == (5, 3, 4) and f.csat_mean == 4 and f.csat_good_share == pytest.approx(2 / 3)
    assert f.bot_first_response == 0 and f.agent_first_response is None and f.outbox_pending is None
    empty = channel_figures("slack", [], fb)
    assert empty.deflection_rate is None and empty.helpful_rate is None and empty.csat_mean is None


def period_of(*threads: tuple[Conversation, Thread], tickets: tuple[Ticket, ...] = (), until: datetime | None = None) -> Period:
    return Period(T0 - timedelta(days=1), until, tuple(c for c, _ in threads), tuple(m for _, t in threads for m in t.messages), (), tickets)


def test_report_has_every_channel_then_all_and_every_day() -> None:
    web, slack, other = conversation("a", "web"), conversation("b", "slack", created=T0 + timedelta(days=2)), conversation("c", "whatsapp")
    ta, tb, tc = answered(), handed_off(offline=True), answered()
    for t, c in ((ta, web), (tb, slack), (tc, other)):
        t.messages = [Message(**{**m.__dict__, "conversation_id": c.id}) for m in t.messages]
    ticket = Ticket(1, "b", "x@example.com", "en", "open", T0)
    report = build_report(period_of((web, ta), (slack, tb), (other, tc), tickets=(ticket,), until=datetime(2026, 11, 7, tzinfo=timezone.utc)), [], [], tz=UTC, now=T0)
    assert [c.channel for c in report.channels] == ["web", "slack", "telegram", "whatsapp", "all"]
    assert report.figures("all").conversations == 3 and report.figures("telegram").conversations == 0
    assert report.figures("slack").outcomes["ticket"] == 1 and report.figures("all").deflected == 2
    assert [d.day for d in report.days] == [date(2026, 11, d) for d in range(1, 7)]
    assert report.days[1].conversations == {"web": 1, "slack": 0, "telegram": 0, "whatsapp": 1} and report.days[1].deflected == 2
    one = build_report(period_of((web, ta)), [], [], tz=UTC, now=T0 + timedelta(days=1), channel="web")
    assert [c.channel for c in one.channels] == ["web"]


def test_text_and_html_show_the_figures() -> None:
    web = conversation("a", "web")
    t = answered()
    t.messages = [Message(**{**m.__dict__, "conversation_id": "a"}) for m in t.messages]
    report = build_report(period_of((web, t), until=datetime(2026, 11, 3, tzinfo=timezone.utc)), [], [], tz=UTC, now=T0)
    text = format_report(report)
    assert "Answerdesk report 2026-11-01 to 2026-11-02 (UTC)" in text
    assert "deflected (bot answered, no handoff)" in text and "1 (100%)" in text
    assert "total" in text and "100.0%" in text and "none in this period" in text
    page = render_html(report)
    for chart in ("chart-daily", "chart-channels", "chart-outcomes", "chart-gaps"):
        assert f'id="{chart}"' in page
    assert "http" not in page and "<script" not in page and "<link" not in page


# -- dates and the command


def test_period_flags() -> None:
    now = datetime(2026, 12, 15, 8, 0, tzinfo=timezone.utc)
    istanbul = ZoneInfo("Europe/Istanbul")
    since, until = parse_period("2026-11-01", "2026-12-01", istanbul, now)
    assert since == datetime(2026, 11, 1, tzinfo=istanbul) and until == datetime(2026, 12, 1, tzinfo=istanbul)
    assert parse_period(None, None, UTC, now) == (datetime(2026, 11, 15, tzinfo=UTC), None)
    for flag, args in (("--since", ("2026-13-01", None)), ("--since", ("1/11/2026", None)), ("--until", (None, "tomorrow"))):
        with pytest.raises(ReportError, match=rf"^{flag} '.*' is not a date: use YYYY-MM-DD, e.g. {flag} 2026-11-01") as caught:
            parse_period(*args, UTC, now)
        assert caught.value.flag == flag
    with pytest.raises(ReportError, match="--until 2026-11-01 is not after --since 2026-11-01"):
        parse_period("2026-11-01", "2026-11-01", UTC, now)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with one answered web conversation and one Telegram question the KB did not cover."""
    path = str(tmp_path / "answerdesk.db")
    store = open_store(path, clock=lambda: T0)
    web = store.create_conversation("web", "v1", "en")
    store.add_message(web.id, "customer", "I forgot my password")
    store.add_message(web.id, "bot", "Reset it in Settings", lang="en", action="answer", article_id="reset-password",
                      decision={"action": "answer", "reason": "confident", "candidates": []})
    tg = store.create_conversation("telegram", "42", "tr")
    store.add_message(tg.id, "customer", "Hediye kartı satıyor musunuz?")
    store.add_message(tg.id, "bot", "...", lang="tr", action="handoff", decision={"action": "handoff", "reason": "not_covered", "candidates": []})
    store.close()
    return path


def test_run_report_prints_the_table_and_writes_the_page(db: str, tmp_path: Path) -> None:
    out = io.StringIO()
    page = tmp_path / "report.html"
    code = run_report(Settings(db=db), since="2026-11-01", until="2026-12-01", html=str(page), out=out, encoder=HashEncoder())
    text = out.getvalue()
    assert code == 0
    assert "Hediye kartı satıyor musunuz?" in text and "tr 1" in text
    assert f"HTML report written to {page}" in text
    assert 'id="chart-gaps"' in page.read_text(encoding="utf-8")
    only = io.StringIO()
    run_report(Settings(db=db), since="2026-11-01", channel="web", out=only, encoder=HashEncoder(), now=T0 + timedelta(days=1))
    assert "none in this period" in only.getvalue()


def test_command_names_the_bad_flag(db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANSWERDESK_DB", db)
    monkeypatch.setenv("ANSWERDESK_ENCODER", "hash")
    assert main(["report", "--since", "2026-11-31"]) == 1
    assert "--since '2026-11-31' is not a date: use YYYY-MM-DD" in capsys.readouterr().err
    assert main(["report", "--since", "2026-11-01", "--until", "2026-12-01"]) == 0
    assert "conversations" in capsys.readouterr().out
    assert main(["report", "--since", "2026-11-01", "--channel", "telgram"]) == 1  # a typo: not a column of zeros
    assert "--channel 'telgram' is not a channel: use web, slack, telegram" in capsys.readouterr().err
