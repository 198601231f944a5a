"""A month of traffic through the real desk, then the KB learns from it (issue 16).

Background traffic comes from the report's month generator (tests/scenarios/test_report_month.py:
Month, Ana signed in during business hours). Into it, scripted customers whose counts the test
knows: vague questions carrying e-mail addresses, order and phone numbers that end in a pick
from the choices; an answer rated "not helpful" after which Ana sends the right article; an
uncovered question Ana answers with an article; a group of gift-card questions nothing covers.
The KB is a git checkout. Then: the suggestions and their counts, accepting them (the files
changed only by the new lines, one commit each naming the article and the agent), a reindex, and
the accepted questions answered directly where before they were a clarify or a handoff. No
personal data reaches a suggestion or the KB.
"""

from __future__ import annotations

import difflib
import random
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.actions import Action
from bot.answer.engine import Engine
from bot.config import Settings
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.store.connect import open_store
from bot.store.model import Store
from bot.store.sql_suggestions import ACCEPTED, open_suggestion_decisions
from bot.suggestions.model import DRAFT, NOTE, QUESTION, Suggestion
from bot.suggestions.review import Review
from bot.suggestions.scrub import personal_data
from index.errors import KBEditError
from index.kb_edit import Author
from index.search import LiveIndex
from tests.scenarios.test_report_month import AGENT_WAIT, SINCE, UTC, Clock, Month

pytestmark = pytest.mark.slow

ANA = Author("Ana Lima", "ana@example.com")
HELP = "https://help.example.com/articles/en"
BACKGROUND = 60
# Scripted customers: (question, the article they pick or are given); each list is one suggestion.
PICKED_REFUND = [f"money back for order {n}, mail me at {who}@example.com" for n, who in
                 (("4411 2233 5566", "jo"), ("99887766", "ann"), ("1234-5678", "li"), ("#55443322", "sam"))]
PICKED_TR = ["siparişim nerede"] * 3  # shipping has no Turkish version
PICKED_SIGN_IN = ["I can't sign in, call me at +1 415 555 0100", "I can't sign in, call me at +1 415 555 0199"]
BETTER = ["locked out of my account"] * 2  # answered with delete-account, rated "no"; Ana sends reset-password
AGENT = ["the item broke after a week, order 55667788", "the item broke after a week, order 55667799"]
GIFT_CARDS = ["Do you sell gift cards?", "Can I pay with a gift card?", "Is there an expiry date on gift cards?", "Where can I buy a gift card?"]
PERSONAL = ["@example.com", "4411", "99887766", "1234-5678", "55443322", "415 555", "55667788", "55667799"]


@dataclass
class Played:
    settings: Settings
    store: Store
    desk: Desk
    review: Review
    kb: Path
    before: dict[str, bytes]  # the KB's files before anything was accepted


def git(kb: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(kb), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, real_encoders) -> Played:
    from tests.conftest import SMALL_KB, write_article

    root = tmp_path_factory.mktemp("suggestions-month")
    kb = root / "kb"
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(kb, lang, article_id, title, body, questions)
    git(kb, "init", "-q")
    git(kb, "config", "user.name", "Maintainer")
    git(kb, "config", "user.email", "maintainer@example.com")
    git(kb, "add", ".")
    git(kb, "commit", "-q", "-m", "the help center")
    settings = Settings(kb_dir=str(kb), index_dir=str(root / "index"), db=str(root / "answerdesk.db"), answer_threshold=0.31,
                        handoff_threshold=0.15, hours="mon-fri 09:00-18:00", timezone="UTC")
    reindex(settings, encoder=real_encoders)
    clock = Clock(SINCE)
    store = open_store(settings.db, clock=clock)
    desk = Desk(Engine(settings, real_encoders, LiveIndex(settings.index_dir)), store, parse_hours(settings.hours, settings.timezone, ""),
                agent_wait=AGENT_WAIT, clock=clock)
    ana = store.add_agent(ANA.name, ANA.email, "!", ["en", "tr", "ar"])
    month = Month(desk, clock, ana.id, seed=16)
    rng = random.Random(16)
    span = timedelta(days=19).total_seconds()
    for number, start in enumerate(sorted(SINCE + timedelta(seconds=rng.uniform(0, span)) for _ in range(BACKGROUND))):
        month.play(number, start)
    clock.now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday: Ana is in
    script = Script(desk, clock, ana.id)
    for text in PICKED_REFUND:
        script.pick(text, "refund")
    for text in PICKED_TR:
        script.pick(text, "shipping", lang="tr")
    for text in PICKED_SIGN_IN:
        script.pick(text, "reset-password")
    for text in BETTER:
        script.rated_no_then_given(text, "delete-account", "reset-password")
    for text in AGENT:
        script.handed_off_then_given(text, "refund")
    for text in GIFT_CARDS:
        script.handed_off_then_given(text, None)
    before = {str(p.relative_to(kb)): p.read_bytes() for p in kb.rglob("*.md")}
    review = Review(settings, store, engine=desk.engine, clock=clock)
    return Played(settings, store, desk, review, kb, before)


class Script:
    """Customers whose questions and picks the test knows."""

    def __init__(self, desk: Desk, clock: Clock, ana: str) -> None:
        self.desk, self.clock, self.ana, self.n = desk, clock, ana, 0

    def _open(self, lang: str) -> str:
        self.n += 1
        self.clock.advance(600)
        self.desk.seen(self.ana)
        return self.desk.open("web", f"scripted-{self.n}", lang_hint=lang).id

    def pick(self, text: str, article_id: str, lang: str = "en") -> None:
        conversation = self._open(lang)
        turn = self.desk.receive(conversation, text)
        assert turn.replies[0].action == Action.CLARIFY, (text, turn.replies[0].decision)
        assert article_id in [c.article_id for c in turn.replies[0].choices]
        self.clock.advance(10)
        self.desk.choose(conversation, article_id)

    def rated_no_then_given(self, text: str, answered: str, given: str) -> None:
        conversation = self._open("en")
        answer = self.desk.receive(conversation, text).replies[0]
        assert (answer.action, answer.article_id) == (Action.ANSWER, answered)
        self.desk.rate_answer(conversation, answer.id, helpful=False)
        self._agent_gives(conversation, given)

    def handed_off_then_given(self, text: str, given: str | None) -> None:
        conversation = self._open("en")
        assert self.desk.receive(conversation, text).replies[0].action == Action.HANDOFF
        self._agent_gives(conversation, given)

    def _agent_gives(self, conversation: str, article_id: str | None) -> None:
        self.clock.advance(60)
        assert self.desk.take(conversation, self.ana, ANA.name)
        text = f"This should help: {HELP}/{article_id}" if article_id else "We don't sell those yet, sorry."
        self.desk.agent_reply(conversation, self.ana, text)
        assert self.desk.close(conversation, self.ana)


def find(suggestions: tuple[Suggestion, ...] | list[Suggestion], kind: str, article_id: str | None, lang: str, starts: str) -> Suggestion:
    found = [s for s in suggestions if s.kind == kind and s.article_id == article_id and s.lang == lang and s.text.startswith(starts)]
    assert len(found) == 1, (kind, article_id, lang, starts, [(s.kind, s.article_id, s.lang, s.text, s.count) for s in suggestions])
    return found[0]


def test_suggestions_appear_with_their_counts_and_sources(played: Played) -> None:
    listing = played.review.listing()
    refund = find(listing.open, QUESTION, "refund", "en", "money back for order")
    assert (refund.count, refund.source) == (4, "picked")
    assert refund.text == "money back for order [number], mail me at [email]"
    tr = find(listing.open, QUESTION, "shipping", "tr", "siparişim nerede")
    assert (tr.count, tr.missing_language) == (3, True)
    assert ("shipping", "tr", 3) in listing.missing
    sign_in = find(listing.open, QUESTION, "reset-password", "en", "I can't sign in")
    assert sign_in.count == 2 and "[phone]" in sign_in.text
    better = find(listing.open, QUESTION, "reset-password", "en", "locked out of my account")
    assert (better.count, better.source, better.instead_of) == (2, "better", "delete-account")
    note = find(listing.open, NOTE, "delete-account", "en", "locked out of my account")
    assert note.count == 2
    broke = find(listing.open, QUESTION, "refund", "en", "the item broke after a week")
    assert (broke.count, broke.source) == (2, "agent")
    gift = [s for s in listing.open if s.kind == DRAFT and any("gift card" in q.lower() for q in s.questions)]
    assert gift and max(s.count for s in gift) >= len(GIFT_CARDS)  # the month's own gift-card questions join them
    for s in listing.open:  # each piece of evidence is a stored customer question
        assert all(e.conversation_id and e.message_id for e in s.evidence)


def test_no_personal_data_reaches_a_suggestion(played: Played) -> None:
    for s in played.review.listing().open:
        for text in (s.text, *s.questions):
            assert personal_data(text) == [], text
            assert not any(p in text for p in PERSONAL), text


def test_accepting_writes_the_kb_byte_for_byte_one_commit_each_and_the_answers_follow_after_reindex(played: Played, real_encoders) -> None:
    listing = played.review.listing()
    chosen = [
        find(listing.open, QUESTION, "refund", "en", "money back for order"),
        find(listing.open, QUESTION, "shipping", "tr", "siparişim nerede"),
        find(listing.open, QUESTION, "reset-password", "en", "I can't sign in"),
        find(listing.open, QUESTION, "reset-password", "en", "locked out of my account"),
        find(listing.open, QUESTION, "refund", "en", "the item broke after a week"),
    ]
    commits = int(git(played.kb, "rev-list", "--count", "HEAD"))
    decisions = [played.review.accept(chosen[2].id, ANA, seen_hash=listing.hashes[chosen[2].id])]
    with pytest.raises(KBEditError, match="changed since it was read"):  # reset-password.md as the agent saw it before that
        played.review.accept(chosen[3].id, ANA, seen_hash=listing.hashes[chosen[3].id])
    assert int(git(played.kb, "rev-list", "--count", "HEAD")) == commits + 1
    for s in chosen[:2] + chosen[3:]:  # as the console does: each accept from the page as it is now
        decisions.append(played.review.accept(s.id, ANA, seen_hash=played.review.listing().hashes[s.id]))
    decisions = [decisions[1], decisions[2], decisions[0], decisions[3], decisions[4]]  # in the order of `chosen`
    assert int(git(played.kb, "rev-list", "--count", "HEAD")) == commits + len(chosen)
    last = git(played.kb, "log", "-1", "--format=%an <%ae>%n%s")
    assert "Ana Lima <ana@example.com>" in last and "en/refund" in last and "Ana Lima" in last.splitlines()[1]
    assert git(played.kb, "status", "--porcelain") == ""

    # Only new lines: every old line is still there, in order.
    added: dict[str, list[str]] = {}
    for name, old in played.before.items():
        new = (played.kb / name).read_bytes()
        if new == old:
            continue
        diff = list(difflib.ndiff(old.decode().splitlines(keepends=True), new.decode().splitlines(keepends=True)))
        assert not [d for d in diff if d.startswith("- ")], name
        added[name] = [d[2:].strip() for d in diff if d.startswith("+ ")]
    assert set(added) == {"en/refund.md", "en/shipping.md", "en/reset-password.md"}  # Turkish for shipping goes to its English original
    assert len(added["en/refund.md"]) == 2 and len(added["en/reset-password.md"]) == 2 and len(added["en/shipping.md"]) == 1
    for name in added:
        text = (played.kb / name).read_text()
        assert not any(p in text for p in PERSONAL), name

    assert all(d.before_action in (Action.CLARIFY, Action.HANDOFF, Action.ANSWER) for d in decisions)
    assert {d.before_action for d in decisions[:3]} == {Action.CLARIFY}  # the picked ones were clarifications
    assert decisions[3].before_action == Action.CLARIFY or decisions[3].before_article == "delete-account"

    report = reindex(played.settings, encoder=real_encoders, store=played.store)
    proofs = {p.decision.id: p for p in report.proofs}
    assert set(proofs) == {d.id for d in decisions}
    assert all(p.answered for p in proofs.values()), [(p.decision.text, p.now) for p in proofs.values()]
    kept = {d.id: d for d in open_suggestion_decisions(played.store).all(ACCEPTED)}
    assert all(kept[d.id].after_action == Action.ANSWER and kept[d.id].after_article == d.article_id for d in decisions)

    # A new customer asking as they did is answered directly now.
    conversation = played.desk.open("telegram", "new-customer", lang_hint="tr").id
    reply = played.desk.receive(conversation, "siparişim nerede").replies[0]
    assert (reply.action, reply.article_id) == (Action.ANSWER, "shipping")


def test_a_rejected_suggestion_is_not_offered_again_and_an_accepted_draft_is_not_served(played: Played, real_encoders) -> None:
    listing = played.review.listing()
    note = find(listing.open, NOTE, "delete-account", "en", "locked out of my account")
    played.review.reject(note.id, ANA)
    assert note.id not in {s.id for s in played.review.listing().open}
    draft = max((s for s in listing.open if s.kind == DRAFT and any("gift card" in q.lower() for q in s.questions)), key=lambda s: s.count)
    decision = played.review.accept(draft.id, ANA)
    path = played.kb / decision.file
    assert path.exists() and "draft: true" in path.read_text()
    assert not any(p in path.read_text() for p in PERSONAL)
    reindex(played.settings, encoder=real_encoders, store=played.store)
    after = open_suggestion_decisions(played.store).get(draft.id)
    assert after is not None and after.after_action == Action.HANDOFF  # a draft is not served until its flag is removed
