"""A month of traffic through the real desk, then `answerdesk report`: its figures are the generator's.

The generator drives `Desk` like the channels and the agent console would (a SQLite store in
tmp_path, an injected clock, business hours mon-fri 09:00-18:00 UTC, the real USE encoder over
a small KB) and keeps its own tally of what it did; the report must find exactly that. Ana, the
one agent, is signed in only during business hours: each working morning she works through the
conversations missed since (answering them, or closing those whose customer said never mind),
so no conversation ends without an outcome, and "abandoned" counts only customers who left.
"""

from __future__ import annotations

import io
import random
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.desk.desk import Desk, Turn
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.reports.figures import ALL, Report, shares
from bot.reports.outcomes import OUTCOMES
from bot.reports.command import make_report, run_report
from bot.store.model import Conversation, Message
from bot.store.connect import open_store
from index.search import LiveIndex

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)

UTC = timezone.utc
SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
LAST_MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # the ones left waiting are the month's last
CONVERSATIONS = 260
LEFT_WAITING = 6
AGENT_WAIT = timedelta(minutes=3)
CHANNELS = {"web": 0.5, "slack": 0.25, "telegram": 0.25}
LANGS = {"en": 0.5, "tr": 0.3, "ar": 0.2}

COVERED = {
    "en": ["I forgot my password", "can't log in, password lost", "how do I return an item", "refund policy", "how long does shipping take",
           "how much is delivery", "when will my order arrive", "what are your support hours", "are you open on weekends",
           "how do I delete my account", "remove my profile"],
    "tr": ["Şifremi unuttum", "Şifremi unuttum, nasıl sıfırlayabilirim?", "şifremi nasıl değiştiririm"],
    "ar": ["أريد استرداد أموالي", "كيف أرجع منتجًا", "متى سيصل طلبي؟ كم تستغرق مدة الشحن؟"],
}
# With the thresholds set below (answer 0.31, handoff 0.15) these score between them: "did you mean ...?"
VAGUE = {"en": ["money", "my order"], "ar": ["كيف يمكنني استرجاع أموالي؟"]}
THEMES = {
    "gift cards": {
        "en": ["Where can I buy a gift card?", "Can I use two gift cards on one order?", "Do you sell gift cards?",
               "Is there an expiry date on gift cards?", "Can I give a gift card to a friend?"],
        "tr": ["Hediye kartı nasıl alabilirim?", "Hediye kartımı nasıl kullanırım?", "Hediye kartı satıyor musunuz?",
               "Hediye kartımın bakiyesini nasıl öğrenirim?", "Hediye kartının son kullanma tarihi var mı?"],
        "ar": ["كيف أشتري بطاقة هدية؟", "كيف أستخدم بطاقة الهدية الخاصة بي؟", "رمز بطاقة الهدية لا يعمل", "هل تبيعون بطاقات الهدايا؟"],
    },
    "student discount": {
        "en": ["Do you offer a student discount?", "Is there a discount for students?", "Can students get cheaper prices?",
               "How do I verify my student status for the discount?"],
        "tr": ["Öğrenci indirimi var mı?", "Öğrencilere indirim yapıyor musunuz?", "Öğrenci indirimi için ne gerekiyor?"],
        "ar": ["هل يوجد خصم للطلاب؟", "هل تقدمون تخفيضات للطلاب؟"],
    },
    "instalments": {
        "en": ["Can I pay in installments?", "Do you accept payment in instalments?", "Is it possible to split the payment into monthly instalments?"],
        "tr": ["Taksitle ödeme yapabilir miyim?", "Kredi kartına taksit var mı?", "Aylık taksitle alabilir miyim?"],
        "ar": ["هل يمكنني الدفع بالتقسيط؟", "هل يمكن تقسيط المبلغ على أشهر؟"],
    },
}
OFF_TOPIC = {"en": ["How do I bake sourdough bread at home?", "What is the capital of Australia?", "Can you recommend a good movie?"],
             "tr": ["Yarın İstanbul'da hava nasıl olacak?"], "ar": ["كم يبلغ ارتفاع جبل إيفرست؟"]}
ASK_PERSON = {"en": ["I want to talk to a human"], "tr": ["temsilciye bağla"], "ar": ["أريد التحدث مع موظف"]}
SMALL_TALK = {"en": ("hello", "thanks"), "tr": ("Merhaba", "teşekkürler"), "ar": ("مرحبا", "شكرا")}
KINDS = {"covered": 0.36, "vague": 0.06, "theme": 0.3, "off_topic": 0.06, "ask_person": 0.08, "small_talk": 0.1, "silent": 0.04}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Tally:
    """What the generator did, per channel."""

    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    csat: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    agent_waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    themes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # theme -> language -> questions
    gaps: Counter[str] = field(default_factory=Counter)  # not_covered | unhelpful

    def total(self, name: str) -> int:
        return sum(c[name] for c in self.counts.values())


class Month:
    """Customers and agents of a month, played one conversation at a time."""

    def __init__(self, desk: Desk, clock: Clock, ana: str, seed: int = 11) -> None:
        self.desk, self.clock, self.rng, self.tally = desk, clock, random.Random(seed), Tally()
        self.ana = ana  # the agent's id
        self.outcome: dict[str, tuple[str, str]] = {}  # conversation id -> (channel, outcome) as it stands now
        self.missed: dict[str, tuple[str, datetime, bool]] = {}  # missed, not yet handled: channel, handed off at, waited in the queue
        self.mornings: set[object] = set()
        self.left: set[str] = set()  # customers who said "never mind" while missed
        self.away = False  # Ana stepped out during business hours

    def pick(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def team_works(self) -> bool:
        return self.clock.now.weekday() < 5 and 9 <= self.clock.now.hour < 18

    def play(self, number: int, start: datetime, kind: str | None = None) -> None:
        self.clock.now = max(start, self.clock.now + timedelta(minutes=1))
        self.presence(morning=True)
        channel, lang = self.pick(CHANNELS), self.pick(LANGS)
        conversation = self.desk.open(channel, f"{channel}-user-{number}", lang_hint=lang)
        self.channel, self.lang, self.conversation = channel, lang, conversation
        getattr(self, f"_{kind or self.pick(KINDS)}")()

    def end(self, outcome: str) -> None:
        self.outcome[self.conversation.id] = (self.channel, outcome)

    def presence(self, morning: bool = False) -> None:
        """Ana is signed in and active during business hours (and works through the missed ones
        each morning), signed out otherwise; called whenever the clock moves, as her console would."""
        if not self.team_works() or self.away:
            self.desk.signed_out(self.ana)
            return
        if morning and self.clock.now.date() not in self.mornings:
            self.mornings.add(self.clock.now.date())
            self.morning()
        self.desk.seen(self.ana)

    def morning(self) -> None:
        queue = self.desk.store.waiting_queue((), states=("missed",))
        assert {c.id for c in queue} == set(self.missed)  # nobody vanished from the queue
        for conversation in queue:
            channel, queued, waited = self.missed.pop(conversation.id)
            self.clock.advance(self.rng.randint(30, 120))
            self.desk.seen(self.ana)
            if conversation.id in self.left:  # the customer said never mind: closed without a reply
                assert self.desk.close(conversation.id, self.ana)
                self.outcome[conversation.id] = (channel, "abandoned")
                continue
            assert self.desk.take(conversation.id, self.ana, "Ana")
            tickets = [t for t in self.desk.store.list_tickets() if t.conversation_id == conversation.id]
            if tickets:
                self.desk.answer_ticket(tickets[0].id, self.ana, "Sorry we missed you: here is the answer.")
            else:
                self.desk.agent_reply(conversation.id, self.ana, "Sorry we missed you: here is the answer.")
                self.outcome[conversation.id] = (channel, "agent")
            if waited:  # it waited in the queue before it was missed: a first response, however late
                self.tally.agent_waits[channel].append((self.clock.now - queued).total_seconds())
            assert self.desk.close(conversation.id, self.ana)

    def count(self, name: str, n: int = 1) -> None:
        self.tally.counts[self.channel][name] += n

    def say(self, text: str, expect: str | None = None, reason: str | None = None) -> Turn:
        self.clock.advance(self.rng.randint(5, 60))
        self.presence()
        turn = self.desk.receive(self.conversation.id, text, lang_hint=self.lang)
        self.count("customer_messages")
        if expect:
            first = turn.replies[0]
            assert first.action == expect, f"{text!r}: expected {expect}, the bot did {first.action}"
            assert reason is None or (first.decision or {}).get("reason") == reason, f"{text!r}: {first.decision}"
        return turn

    # -- kinds of conversation

    def _silent(self) -> None:  # opened the widget, never wrote
        self.end("no_reply")

    def _small_talk(self) -> None:
        hello, thanks = SMALL_TALK[self.lang]
        self.say(hello, "smalltalk")
        if self.rng.random() < 0.5:
            self.say(thanks, "smalltalk")
        self.end("smalltalk_only")

    def _covered(self) -> None:
        if self.rng.random() < 0.3:
            self.say(SMALL_TALK[self.lang][0], "smalltalk")
        turn = self.say(self.rng.choice(COVERED[self.lang]), "answer")
        self._after_answer(turn.replies[0])

    def _vague(self) -> None:
        self.lang = self.lang if self.lang in VAGUE else "en"
        turn = self.say(self.rng.choice(VAGUE[self.lang]), "clarify")
        self.count("clarifications")
        if self.rng.random() < 0.3:
            return self.end("unanswered")
        self.clock.advance(self.rng.randint(3, 20))
        chosen = self.desk.choose(self.conversation.id, turn.replies[0].choices[0].article_id)
        self.count("customer_messages")
        self._after_answer(chosen.replies[0])

    def _theme(self) -> None:
        theme = self.rng.choice(sorted(THEMES))
        self.say(self.rng.choice(THEMES[theme][self.lang]), "handoff", "not_covered")
        self.tally.themes[theme][self.lang] += 1
        self._handed_off(gap="not_covered")

    def _off_topic(self) -> None:
        self.say(self.rng.choice(OFF_TOPIC[self.lang]), "handoff", "not_covered")
        self._handed_off(gap="not_covered")

    def _ask_person(self) -> None:
        if self.rng.random() < 0.5:
            self.say(self.rng.choice(ASK_PERSON[self.lang]), "handoff", "asked_for_person")
        else:  # answered, then pressed "talk to a person"
            self.say(self.rng.choice(COVERED[self.lang]), "answer")
            self.clock.advance(self.rng.randint(5, 30))
            self.presence()
            self.desk.ask_for_person(self.conversation.id)
        self._handed_off()

    def _after_answer(self, answer: Message) -> None:
        roll = self.rng.random()
        if roll < 0.4:
            return self.end("deflected")
        self.clock.advance(self.rng.randint(5, 40))
        self.presence()
        helpful = roll < 0.8
        self.desk.rate_answer(self.conversation.id, answer.id, helpful)
        self.count("helpful_yes" if helpful else "helpful_no")
        if helpful:
            return self.end("deflected")
        self._handed_off(gap="unhelpful")

    # -- after a handoff

    def _handed_off(self, gap: str | None = None) -> None:
        self.count("handoffs")
        if gap:
            self.tally.gaps[gap] += 1
        queued = self.clock.now
        if not self.team_works():
            assert self.desk.store.get_conversation(self.conversation.id).state == "missed"  # at once, no wait
            self.count("outside_hours")
            return self._leave_email_or_not(queued, waited=False)
        assert self.desk.store.get_conversation(self.conversation.id).state == "waiting"  # Ana is signed in
        if self.rng.random() < 0.65:
            return self._agent_answers()
        self.clock.advance(AGENT_WAIT.total_seconds() + 20)
        assert self.desk.expire_waiting() == [self.conversation.id]
        self.count("no_agent_in_time")
        self._leave_email_or_not(queued, waited=True)

    def _leave_email_or_not(self, queued: datetime, waited: bool) -> None:
        self.missed[self.conversation.id] = (self.channel, queued, waited)
        if self.rng.random() < 0.35:
            if self.rng.random() < 0.3:
                self.say(SMALL_TALK[self.lang][1], "smalltalk")  # "thanks", and gone: the bot still answers a missed conversation
                self.left.add(self.conversation.id)
            return self.end("missed")  # until Ana's next morning
        if self.rng.random() < 0.2:
            self.say("me@", "email_invalid")
        self.say(f"customer{self.rng.randint(1, 10**6)}@example.com", "ticket_created")
        assert self.desk.store.get_conversation(self.conversation.id).state == "missed"  # still in the queue
        self.count("tickets")
        self.end("ticket")

    def _agent_answers(self) -> None:
        queued = self.clock.now
        self.clock.advance(self.rng.randint(20, 400))
        assert self.desk.take(self.conversation.id, self.ana, "Ana")
        self.clock.advance(self.rng.randint(5, 90))
        self.desk.agent_reply(self.conversation.id, self.ana, "Hi, Ana here. Let me check that for you.")
        self.tally.agent_waits[self.channel].append((self.clock.now - queued).total_seconds())
        if self.rng.random() < 0.5:
            assert self.say("thank you, and one more thing").replies == ()  # the bot stays silent
            self.clock.advance(self.rng.randint(10, 60))
            self.desk.agent_reply(self.conversation.id, self.ana, "Done!")
        self.desk.close(self.conversation.id, self.ana)
        if self.rng.random() < 0.6:
            score = self.rng.choice([1, 3, 4, 4, 5, 5, 5])
            self.desk.rate_conversation(self.conversation.id, score)
            self.tally.csat[self.channel].append(score)
        self.end("agent")

    def left_waiting(self, number: int, start: datetime) -> None:
        """A handoff nobody has taken when the month ends (the last one is taken, not yet answered;
        the first comes while Ana has stepped out: missed at once, in business hours)."""
        self.clock.now = start
        first = number == CONVERSATIONS
        self.away = first
        self.presence()
        self.channel, self.lang = self.pick(CHANNELS), self.pick(LANGS)
        self.conversation = self.desk.open(self.channel, f"{self.channel}-user-{number}", lang_hint=self.lang)
        theme = self.rng.choice(sorted(THEMES))
        self.say(self.rng.choice(THEMES[theme][self.lang]), "handoff", "not_covered")
        self.tally.themes[theme][self.lang] += 1
        self.tally.gaps["not_covered"] += 1
        self.count("handoffs")
        if first:
            self.count("nobody_available")
            self.missed[self.conversation.id] = (self.channel, start, False)
            return self.end("missed")
        if number == CONVERSATIONS + LEFT_WAITING - 1:
            assert self.desk.take(self.conversation.id, self.ana, "Ana")
        self.end("waiting")

    def close_the_books(self) -> None:
        """The tally of outcomes as they stand at the end of the month."""
        assert {c.id for c in self.desk.store.waiting_queue((), states=("missed",))} == set(self.missed)
        for channel, outcome in self.outcome.values():
            self.tally.outcomes[channel][outcome] += 1


@dataclass(frozen=True)
class Played:
    settings: Settings
    tally: Tally
    report: Report
    conversations: list[Conversation]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory, real_encoders) -> Played:
    from tests.conftest import SMALL_KB, write_article

    root = tmp_path_factory.mktemp("month")
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root / "kb", lang, article_id, title, body, questions)
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"), db=str(root / "answerdesk.db"), answer_threshold=0.31, handoff_threshold=0.15,
                        hours="mon-fri 09:00-18:00", timezone="UTC")
    reindex(settings, encoder=real_encoders)
    clock = Clock(SINCE)
    store = open_store(settings.db, clock=clock)
    desk = Desk(Engine(settings, real_encoders, LiveIndex(settings.index_dir)), store, parse_hours(settings.hours, settings.timezone, ""),
                agent_wait=AGENT_WAIT, clock=clock)
    ana = store.add_agent("Ana", "ana@example.com", "!", ["en", "tr", "ar"])
    generator = Month(desk, clock, ana.id)
    rng = random.Random(5)
    span = (LAST_MONDAY - SINCE).total_seconds()
    for number, start in enumerate(sorted(SINCE + timedelta(seconds=rng.uniform(0, span)) for _ in range(CONVERSATIONS))):
        generator.play(number, start)
    for n in range(LEFT_WAITING):
        generator.left_waiting(CONVERSATIONS + n, max(LAST_MONDAY, clock.now) + timedelta(minutes=7))
    generator.close_the_books()
    report = make_report(store, SINCE, UNTIL, load_encoder=lambda: real_encoders, tz=ZoneInfo("UTC"), now=clock.now)
    conversations = store.list_conversations()
    store.close()
    return Played(settings, generator.tally, report, conversations)


def test_the_month_covers_every_path(month: Played) -> None:
    everything = Counter()
    for outcomes in month.tally.outcomes.values():
        everything.update(outcomes)
    assert sum(everything.values()) == len(month.conversations) == CONVERSATIONS + LEFT_WAITING
    assert all(everything[name] > 0 for name in OUTCOMES), everything
    assert month.tally.total("outside_hours") > 5 and month.tally.total("no_agent_in_time") > 5
    assert month.tally.total("nobody_available") == 1


def test_outcome_shares_add_up_to_exactly_100_percent(month: Played) -> None:
    for figures in month.report.channels:
        assert sum(figures.outcomes.values()) == figures.conversations > 0
        assert sum(shares(figures.outcomes).values()) == 1000
    assert month.report.figures(ALL).conversations == CONVERSATIONS + LEFT_WAITING
    assert sum(c.conversations for c in month.report.channels if c.channel != ALL) == CONVERSATIONS + LEFT_WAITING


def test_figures_are_what_the_generator_did(month: Played) -> None:
    tally = month.tally
    for channel in (*CHANNELS, ALL):
        f = month.report.figures(channel)
        names = list(CHANNELS) if channel == ALL else [channel]

        def total(name: str) -> int:
            return sum(tally.counts[n][name] for n in names)

        assert dict(f.outcomes) == {o: sum(tally.outcomes[n][o] for n in names) for o in OUTCOMES}, channel
        assert f.customer_messages == total("customer_messages")
        assert f.clarifications == total("clarifications")
        assert f.handoffs == total("handoffs")
        assert f.outside_hours == total("outside_hours") and f.no_agent_in_time == total("no_agent_in_time")
        assert f.nobody_available == total("nobody_available")
        assert f.tickets == total("tickets")
        assert (f.helpful_yes, f.helpful_no) == (total("helpful_yes"), total("helpful_no"))
        assert sorted(f.csat) == sorted(s for n in names for s in tally.csat[n])
        assert f.agent_first_response == statistics.median(w for n in names for w in tally.agent_waits[n])
        assert f.bot_first_response == 0  # the injected clock does not move while the bot thinks


def test_biggest_gaps_are_the_injected_themes_with_their_languages(month: Played) -> None:
    report, tally = month.report, month.tally
    assert report.gap_questions == dict(tally.gaps)
    assert sum(g.count for g in report.gaps) == sum(tally.gaps.values())
    phrasing = {text: theme for theme, langs in THEMES.items() for texts in langs.values() for text in texts}
    top = report.gaps[:3]
    themes = [phrasing.get(g.title) for g in top]
    assert sorted(themes, key=str) == sorted(THEMES), [g.title for g in report.gaps[:6]]
    for group, theme in zip(top, themes):
        assert {phrasing.get(e.text) for e in group.examples} == {theme}  # nothing else mixed in
        langs = {lang for lang, _ in group.languages}
        assert langs <= set(tally.themes[theme]) and len(langs) >= 2, (theme, group.languages)  # across languages
        assert group.unhelpful == 0 and group.count >= 0.8 * sum(tally.themes[theme].values())
    for group in report.gaps:  # a theme's questions that grouped apart (a language of their own) still do not mix
        assert len({phrasing.get(e.text, e.text) for e in group.examples}) == 1 or not {phrasing.get(e.text) for e in group.examples} & set(THEMES)
    unhelpful = [g for g in report.gaps if g.unhelpful]
    assert sum(g.unhelpful for g in unhelpful) == tally.gaps["unhelpful"]
    assert all(g.articles for g in unhelpful)


def test_the_command_prints_the_table_and_writes_a_self_contained_page(month: Played, tmp_path: Path, real_encoders) -> None:
    out, page = io.StringIO(), tmp_path / "report.html"
    assert run_report(month.settings, since="2026-11-01", until="2026-12-01", html=str(page), out=out, encoder=real_encoders) == 0
    text = out.getvalue()
    assert re.search(r"^\s+web\s+slack\s+telegram\s+all$", text, re.M)
    assert re.search(rf"^conversations\s+\d+\s+\d+\s+\d+\s+{CONVERSATIONS + LEFT_WAITING}$", text, re.M)
    assert re.search(r"^total(\s+\d+ \(100\.0%\)){4}$", text, re.M)
    assert month.report.gaps[0].title in text
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b", html, re.I) and "@import" not in html and "url(" not in html
    for chart in ("chart-daily", "chart-channels", "chart-outcomes", "chart-gaps"):
        assert re.search(rf'<svg id="{chart}"[^>]*>.*?<rect', html, re.S), chart
    assert html.count("<svg") == 4
    for group in month.report.gaps[:3]:
        assert group.title.replace("'", "&#x27;") in html
