"""Suggestions worked out from a period of traffic: what the conversations showed the KB should say.

Five sources, read from the stored messages (each suggestion's evidence: the customers' questions):

  picked  the customer picked article A from the bot's choices (a clarify) and did not rate that
          answer "not helpful": the question the choices answered, for A's `questions:`.
  agent   after a handoff, an agent's message carried A (`article_id`, the console's picker) or
          linked it (`/articles/<lang>/A`): the question that led to the handoff (its `answers`,
          else the customer's message before it). When the customer asked for a person, the
          question is the last one before that request, else the first after the handoff.
          Only the first agent message with an article counts, up to the next handoff or the
          bot's next answer (the customer may have moved on to something else).
  better  an answer with A to question Q was rated "not helpful", and then, before the bot's next
          answer or a new question it missed, the customer picked B or an agent gave B (B != A):
          Q for B (instead of A), and a note that A did not help for Q. A handoff after "no" is
          read here, not as `agent`.
  confirmed  the bot answered Q with A on a close call (the runner-up within CLOSE_CALL of A's
          score, as the answer's stored evidence has them) and the customer's last rating of that
          answer was "helpful": Q for A, so the next customer who asks that way is not a coin toss.
          A clear answer rated "helpful" is no news and suggests nothing.
  gap     the report's true gaps (bot.reports.gaps: not near-misses), grouped by meaning with an
          encoder: a draft article per group asked by at least `min_draft_customers` customers,
          titled by its most central question.

A question's language is the one the bot replied in. Its text is scrubbed of personal data
(bot/suggestions/scrub.py) first; one with nothing left but placeholders is dropped. A question
already among the article's questions or its title (in that language, normalised) is dropped;
an article that no longer exists gets no suggestion. Suggestions with the same id are one: their
evidence merges (the source shown: better, else agent, else picked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.actions import HANDOFFS, Action
from bot.answer.human_request import asks_for_human
from bot.reports.gaps import GapQuestion, Title, asked_before, collect_gap_questions, group_gaps, settle_close_calls
from bot.reports.misses import linked_articles
from bot.store.model import Conversation, Feedback, Message
from bot.suggestions.kbview import KBView
from bot.suggestions.model import AGENT, BETTER, CONFIRMED, DRAFT, GAP, NOTE, PICKED, QUESTION, Evidence, Suggestion, normalise, suggestion_id
from bot.suggestions.scrub import nothing_left, scrub

if TYPE_CHECKING:
    from index.encoders import Encoder, Encoders

MAX_DRAFT_QUESTIONS = 10
# Score units (index/scoring.py: 0.1 is one standard deviation of unrelated similarities): an answer
# whose runner-up came this close was a close call, though above the clarify margin.
CLOSE_CALL = 0.1
_SHOWN_SOURCE = {BETTER: 0, AGENT: 1, PICKED: 2, CONFIRMED: 3, GAP: 4}  # which source a merged suggestion shows
_CHOSEN = "chosen"  # the reason of the desk's answer to a pressed choice (bot/desk/desk.py `choose`)


@dataclass(frozen=True)
class _Thread:
    """One conversation's messages in order, and which of its customer messages are pressed choices."""

    conversation: Conversation
    messages: Sequence[Message]
    picks: frozenset[int]  # the desk stores the picked article's title as a customer message


def mine(
    conversations: Sequence[Conversation],
    messages: Sequence[Message],
    feedback: Sequence[Feedback],
    kb: KBView,
    *,
    encoder: "Encoder | Encoders | None" = None,
    handoff: float | None = None,
    min_draft_customers: int = 2,
) -> list[Suggestion]:
    """The period's suggestions (the module docstring's sources), the most asked first; drafts only with an `encoder`.
    `handoff`: the served threshold, so that near-misses by score are not drafted (bot.reports.misses)."""
    rated_no, rated_yes = _rated(feedback, False), _rated(feedback, True)
    found: list[Suggestion] = []
    for thread in _threads(conversations, messages):
        found += _picked(thread, rated_no, kb)
        found += _agents(thread, kb)
        found += _better(thread, rated_no, kb)
        found += _confirmed(thread, rated_yes, kb)
    if encoder is not None:
        found += drafts(conversations, messages, feedback, encoder, handoff=handoff, min_customers=min_draft_customers, title=kb.title)
    return merge(found)


def missing_translations(suggestions: Iterable[Suggestion]) -> list[tuple[str, str, int]]:
    """(article id, language, customers) of the questions asked for an article that has no version in
    that language: the translations that would have answered the most customers first."""
    asked: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s in suggestions:
        if s.kind == QUESTION and s.missing_language and s.article_id:
            asked[(s.article_id, s.lang)] |= {e.conversation_id for e in s.evidence}
    return sorted(((a, lang, len(who)) for (a, lang), who in asked.items()), key=lambda row: (-row[2], row[0], row[1]))


def merge(found: Iterable[Suggestion]) -> list[Suggestion]:
    """One suggestion per id, its evidence merged; the most customers first, then the most recently asked, then by id."""
    by_id: dict[str, Suggestion] = {}
    for s in found:
        old = by_id.get(s.id)
        if old is None:
            by_id[s.id] = s
            continue
        evidence = {(e.conversation_id, e.message_id): e for e in (*old.evidence, *s.evidence)}
        shown = s if _SHOWN_SOURCE[s.source] < _SHOWN_SOURCE[old.source] else old
        by_id[s.id] = replace(shown, text=old.text, evidence=tuple(sorted(evidence.values(), key=lambda e: (e.at, e.message_id))))
    return sorted(by_id.values(), key=lambda s: (-s.count, -s.last_asked.timestamp() if s.last_asked else 0.0, s.id))


# -- picked, agent, better -------------------------------------------------------------------


def _picked(t: _Thread, rated_no: frozenset[int], kb: KBView) -> list[Suggestion]:
    found = []
    for i, m in enumerate(t.messages):
        if _chosen(m) and m.id not in rated_no and m.article_id:
            asked = _question_of_answer(t, i)
            if asked is not None:
                question, offer = asked
                found += _questions(kb, PICKED, [m.article_id], _lang(t, offer, question), question, t)
    return found


def _agents(t: _Thread, kb: KBView) -> list[Suggestion]:
    found = []
    for i, h in enumerate(t.messages):
        if h.author != "bot" or h.action not in HANDOFFS or h.action == Action.HANDOFF_AFTER_NO:
            continue  # a handoff after "no" is read with its rated answer (_better)
        given = _agent_article(t, i)
        if given is None:
            continue
        at, articles = given
        question = _question_before(t, i, _answers(h))
        lang = _lang(t, h, question)
        if h.action == Action.HANDOFF_REQUESTED or (h.decision or {}).get("reason") == "asked_for_person":
            question = _topic(t, i, at, question, lang)
        if question is not None:
            found += _questions(kb, AGENT, articles, lang, question, t)
    return found


def _better(t: _Thread, rated_no: frozenset[int], kb: KBView) -> list[Suggestion]:
    found = []
    for i, r in enumerate(t.messages):
        if r.author != "bot" or r.action != Action.ANSWER or r.id not in rated_no or not r.article_id:
            continue
        first = r.article_id
        better = _served_after(t, i, first, rated_no)
        asked = _question_of_answer(t, i)
        if not better or asked is None:
            continue
        question, replied = asked
        lang = _lang(t, replied, question)
        found += _questions(kb, BETTER, better, lang, question, t, instead_of=first)
        found += _suggest(kb, NOTE, first, lang, question, t, BETTER)
    return found


def _confirmed(t: _Thread, rated_yes: frozenset[int], kb: KBView) -> list[Suggestion]:
    found = []
    for i, r in enumerate(t.messages):
        if r.author == "bot" and r.action == Action.ANSWER and r.id in rated_yes and r.article_id and not _chosen(r) and _close_call(r):
            asked = _question_of_answer(t, i)
            if asked is not None:
                question, replied = asked
                found += _questions(kb, CONFIRMED, [r.article_id], _lang(t, replied, question), question, t)
    return found


def _close_call(answer: Message) -> bool:
    """Whether the answer's runner-up scored within CLOSE_CALL of it (its stored evidence's candidates)."""
    scores = [c.get("score") for c in (answer.decision or {}).get("candidates") or () if isinstance(c, dict)]
    return len(scores) > 1 and isinstance(scores[0], (int, float)) and isinstance(scores[1], (int, float)) and scores[0] - scores[1] < CLOSE_CALL


def _served_after(t: _Thread, index: int, first: str, rated_no: frozenset[int]) -> list[str]:
    """The articles the customer got after answer `index` was rated "no": a pick not rated "no", or an
    agent's article; up to the bot's next answer or a new question it missed."""
    for m in t.messages[index + 1 :]:
        if m.author == "bot" and m.action == Action.ANSWER:
            return [m.article_id] if _chosen(m) and m.id not in rated_no and m.article_id and m.article_id != first else []
        if m.author == "bot" and m.action == Action.HANDOFF and (m.decision or {}).get("reason") == "not_covered":
            return []
        if m.author == "agent":
            given = [a for a in _articles(m) if a != first]
            if given:
                return given
    return []


def _agent_article(t: _Thread, index: int) -> tuple[int, list[str]] | None:
    """The first agent message after handoff `index` that carries articles (its index, the articles),
    before the next handoff or the bot's next answer or clarify."""
    for at in range(index + 1, len(t.messages)):
        m = t.messages[at]
        if m.author == "bot" and m.action in (*HANDOFFS, Action.ANSWER, Action.CLARIFY):
            return None
        if m.author == "agent" and (articles := _articles(m)):
            return at, articles
    return None


def _articles(m: Message) -> list[str]:
    """An agent message's articles: the one it carries, then those it links, each once."""
    return list(dict.fromkeys([*([m.article_id] if m.article_id else []), *linked_articles(m.text)]))


def _topic(t: _Thread, handoff: int, agent: int, question: Message | None, lang: str) -> Message | None:
    """For a request for a person: what the customer needed, not "a person, please". The last question
    before the request, else the first after the handoff that the agent answered."""
    if question is not None and not asks_for_human(question.text, lang):
        return question
    before = handoff if question is None else next(i for i, m in enumerate(t.messages) if m.id == question.id)
    earlier = (m for m in reversed(t.messages[:before]) if _is_question(t, m))
    later = (m for m in t.messages[handoff + 1 : agent] if _is_question(t, m))
    return next((m for m in (*earlier, *later) if not asks_for_human(m.text, lang)), None)


# -- which question, which language --------------------------------------------------------------


def _question_of_answer(t: _Thread, index: int) -> tuple[Message, Message] | None:
    """The customer question a bot answer replied to, and the bot message that replied to it (for a
    picked answer, the offer of choices and the question it answered)."""
    answer = t.messages[index]
    if _chosen(answer):
        offer = _offer(t, index, answer.article_id or "")
        if offer is None:
            return None
        question = _question_before(t, offer, _answers(t.messages[offer]))
        return (question, t.messages[offer]) if question is not None else None
    question = _question_before(t, index, _answers(answer))
    return (question, answer) if question is not None else None


def _offer(t: _Thread, index: int, article_id: str) -> int | None:
    """The bot message before `index` whose choices offered the article, else the last clarify."""
    last_clarify = None
    for i in range(index - 1, -1, -1):
        m = t.messages[i]
        if m.author == "bot" and any(c.article_id == article_id for c in m.choices):
            return i
        if last_clarify is None and m.author == "bot" and m.action == Action.CLARIFY:
            last_clarify = i
    return last_clarify


def _question_before(t: _Thread, index: int, answers: object = None) -> Message | None:
    """The customer question `answers` names, else the last one before `index` (no notes, no picks)."""
    return asked_before(t.messages, index, answers=answers, skip=t.picks)


def _is_question(t: _Thread, m: Message) -> bool:
    return m.author == "customer" and m.action != Action.NOTE and m.id not in t.picks


def _answers(m: Message) -> object:
    return (m.decision or {}).get("answers")


def _chosen(m: Message) -> bool:
    return m.author == "bot" and m.action == Action.ANSWER and (m.decision or {}).get("reason") == _CHOSEN


def _lang(t: _Thread, reply: Message, question: Message | None) -> str:
    """The language the bot replied in: the reply's, else its evidence's, else the question's or the conversation's."""
    told = (reply.decision or {}).get("lang")
    told = told.get("lang") if isinstance(told, dict) else told
    return reply.lang or (told if isinstance(told, str) and told else None) or (question.lang if question else None) or t.conversation.lang


# -- building suggestions ------------------------------------------------------------------------


def _questions(kb: KBView, source: str, articles: Sequence[str], lang: str, question: Message, t: _Thread, instead_of: str | None = None) -> list[Suggestion]:
    return [s for a in articles for s in _suggest(kb, QUESTION, a, lang, question, t, source, instead_of)]


def _suggest(
    kb: KBView, kind: str, article_id: str, lang: str, question: Message, t: _Thread, source: str, instead_of: str | None = None,
) -> list[Suggestion]:
    """A QUESTION or NOTE for the article, or none: the article is gone, the question says nothing once
    scrubbed, or (a QUESTION) the article already lists it."""
    text = scrub(question.text).strip()
    if not kb.has(article_id) or nothing_left(text):
        return []
    if kind == QUESTION and normalise(text) in kb.questions(article_id, lang):
        return []
    evidence = Evidence(t.conversation.id, question.id, question.created_at, t.conversation.channel)
    return [Suggestion(
        id=suggestion_id(kind, article_id, lang, text), kind=kind, article_id=article_id, lang=lang, text=text, source=source,
        evidence=(evidence,), missing_language=lang not in kb.languages(article_id), instead_of=instead_of,
    )]


def _threads(conversations: Sequence[Conversation], messages: Sequence[Message]) -> list[_Thread]:
    by_id = {c.id: c for c in conversations}
    ordered: dict[str, list[Message]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: m.id):
        if m.conversation_id in by_id:
            ordered[m.conversation_id].append(m)
    threads = []
    for conversation_id, rows in ordered.items():
        picks = frozenset(rows[i - 1].id for i in range(1, len(rows)) if _chosen(rows[i]) and rows[i - 1].author == "customer")
        threads.append(_Thread(by_id[conversation_id], rows, picks))
    return threads


def _rated(feedback: Sequence[Feedback], helpful: bool) -> frozenset[int]:
    """Answers whose last "did this answer your question?" was `helpful` (yes, or no)."""
    last: dict[int, bool | None] = {}
    for f in sorted(feedback, key=lambda f: f.id):
        if f.message_id is not None and f.helpful is not None:
            last[f.message_id] = f.helpful
    return frozenset(m for m, said in last.items() if said is helpful)


# -- drafts ----------------------------------------------------------------------------------------


def drafts(
    conversations: Sequence[Conversation],
    messages: Sequence[Message],
    feedback: Sequence[Feedback],
    encoder: "Encoder | Encoders",
    *,
    handoff: float | None = None,
    min_customers: int = 2,
    title: Title | None = None,
) -> list[Suggestion]:
    """A DRAFT per group of true gaps (the report's grouping) asked by at least `min_customers` customers."""
    found = collect_gap_questions(conversations, messages, feedback, handoff=handoff)
    scrubbed = [replace(q, text=text) for q in found if not nothing_left(text := scrub(q.text).strip())]
    if not scrubbed:
        return []
    gaps = [q for q in settle_close_calls(scrubbed, encoder) if q.near is None]
    made = []
    for group in group_gaps(gaps, encoder, title=title) if gaps else []:
        members = group.members
        if len({q.conversation_id for q in members}) < min_customers:
            continue
        lang = group.languages[0][0]
        made.append(Suggestion(
            id=suggestion_id(DRAFT, None, lang, group.title), kind=DRAFT, article_id=None, lang=lang, text=group.title, source=GAP,
            evidence=tuple(sorted((_evidence(q) for q in members), key=lambda e: (e.at, e.message_id))),
            questions=_distinct(members),
        ))
    return made


def _distinct(members: Sequence[GapQuestion]) -> tuple[str, ...]:
    """Up to MAX_DRAFT_QUESTIONS distinct texts, in the group's order (central first)."""
    seen: dict[str, str] = {}
    for q in members:
        seen.setdefault(normalise(q.text), q.text)
    return tuple(seen.values())[:MAX_DRAFT_QUESTIONS]


def _evidence(q: GapQuestion) -> Evidence:
    return Evidence(q.conversation_id, q.message_id, q.created_at, q.channel)
