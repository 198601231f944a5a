"""The support desk: conversations around the engine, and the bot → agent → ticket waterfall.

Every channel and the agent console go through a `Desk`. A customer's message, the bot's
replies and the conversation's new state are committed together, once the engine has answered
(one transaction per message); Slack and Telegram keep the message first, before they
acknowledge it, so a crash loses nothing acknowledged and the reply is recomputed. While an agent has a conversation the bot stays silent. A handoff outside
business hours, or with no agent available, or one no agent takes in time, is *missed*: it
stays in the agents' queue while the bot asks for an e-mail address (bot/desk/waterfall.py).

Who changes the state (see docs/architecture.md):
  bot → waiting      a handoff (the engine, "a person", or "no" to an answer) while an agent is available
  bot → missed       a handoff outside hours or with nobody available; waiting → missed: nobody took it in time
  missed → waiting   the customer asks again and an agent is available now
  waiting/missed/bot → agent   an agent takes it (compare-and-set: only one agent can)
  agent → agent      another agent takes it over, explicitly (`take_over`), said in the transcript
  agent → bot        the agent hands it back; waiting/missed → bot: any agent sends it back
  agent → closed     the agent who has it closes it; waiting/missed/bot → closed: any agent
  closed → bot       the customer writes again
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable

from bot.actions import Action
from bot.answer.articles import ArticleLink, article_link
from bot.answer.decision import ANSWER, HANDOFF, Decision
from bot.answer.engine import Engine, Inbound, Outcome, Reply
from bot.config import Settings
from bot.errors import SearchIndexError
from bot.desk.hours import BusinessHours
from bot.answer.phrases import phrase
from bot.desk.recovery import Orphan, find_orphans, reply_claim
from bot.desk.turns import NOT_YOURS, AgentAction, NotAllowed, NotFound, Turn, AnsweredElsewhere, one_transaction
from bot.desk.waterfall import MISSED, PENDING_EMAIL, Waterfall
from bot.store.model import BOT_STATES, QUEUE_STATES, AddedMessage, Conversation, Message, Store, utc_now

log = logging.getLogger(__name__)


class Desk(Waterfall):
    def __init__(
        self,
        engine: Engine,
        store: Store,
        hours: BusinessHours,
        agent_wait: timedelta = timedelta(minutes=3),
        clock: Callable[[], datetime] = utc_now,
        presence: timedelta = timedelta(minutes=5),
    ) -> None:
        self.engine = engine
        self.store = store
        self.hours = hours
        self.agent_wait = agent_wait
        self.clock = clock
        self.presence = presence
        self._last_seen: dict[str, datetime] = {}

    # -- customers ---------------------------------------------------------------
    def open(self, channel: str, external_user: str, lang_hint: str | None = None) -> Conversation:
        """The customer's open conversation on this channel, or a new one."""
        lang = self._hint_language(lang_hint) or self.engine.settings.default_language
        return self.store.find_or_create_conversation(channel, external_user, lang)

    def receive(
        self, conversation_id: str, text: str, lang_hint: str | None = None, external_id: str | None = None, *, known: Conversation | None = None
    ) -> Turn:
        """A customer message: the bot answers it if the bot has the conversation. The message, the
        replies and the conversation's new state are stored in one transaction, after the engine
        ran: a crash before it loses nothing acknowledged (the web's client retries with the same
        id; Slack and Telegram `keep` the message before acknowledging it, and it is answered here).
        `known`: the conversation as the caller read it for this message, so the row is read once."""
        conversation = known if known is not None and known.id == conversation_id else self._get(conversation_id)
        stored = self.store.find_message(conversation.channel, external_id) if external_id else None
        if stored is not None:
            replies = self._replies_to(conversation.id, stored.id)
            if replies or conversation.state not in BOT_STATES:
                return Turn(conversation, stored, replies, duplicate=True)
            # Stored but not answered yet: kept before its channel acknowledged it (Slack), or
            # the process died in between. Answer it now, once.
        if conversation.state not in BOT_STATES + ("closed",):  # a person has it: the bot stays silent
            added = self._customer(conversation, text, external_id, stored)
            return Turn(self._get(conversation.id) if not added.duplicate else conversation, added.message, (), duplicate=added.duplicate)
        if conversation.meta.get("pending") == PENDING_EMAIL and "@" in text:
            with self.store.atomic():
                added = self._customer(conversation, text, external_id, stored)
                said = self._take_email(conversation, text.strip()) if not added.duplicate else ()
            return Turn(self._get(conversation.id), added.message, said, duplicate=added.duplicate)
        earlier = self.store.recent_messages(conversation.id, HISTORY)  # by index: flat however long the chat
        history = [m.lang for m in earlier if m.author == "bot" and m.lang]
        asked = [m.text for m in earlier if m.author == "customer" and m.action != Action.NOTE and (stored is None or m.id != stored.id)]
        outcome = self.engine.respond(
            Inbound(text, lang_hint=lang_hint or conversation.lang, history_langs=tuple(history[-5:]), history_texts=tuple(asked[-1:]))
        )
        try:
            with self.store.atomic():  # one commit for the whole turn
                return self._answer(conversation, text, external_id, stored, outcome)
        except AnsweredElsewhere:  # another worker stored this message or its answer meanwhile: its turn stands
            found = self.store.find_message(conversation.channel, external_id) if external_id else None
            if found is None:
                raise
            return Turn(self._get(conversation.id), found, self._replies_to(conversation.id, found.id), duplicate=True)

    def _customer(self, conversation: Conversation, text: str, external_id: str | None, stored: Message | None) -> AddedMessage:
        if stored is not None:
            return AddedMessage(stored, duplicate=False)  # kept earlier, answered now
        return self.store.add_message(conversation.id, "customer", text, external_id=external_id)

    def _answer(self, conversation: Conversation, text: str, external_id: str | None, stored: Message | None, outcome: Outcome) -> Turn:
        """Inside one transaction: the customer's message, the bot's replies, the new state."""
        added = self._customer(conversation, text, external_id, stored)
        if added.duplicate:
            raise AnsweredElsewhere()
        if conversation.state == "closed" and self.store.transition(conversation.id, ("closed",), "bot"):
            conversation = self._get(conversation.id)
            if MISSED in conversation.meta:  # a new episode: later agent replies are not e-mailed
                meta = {k: v for k, v in conversation.meta.items() if k not in (MISSED, "pending")}
                conversation = self.store.update_conversation(conversation.id, meta=meta)
        conversation = self.store.update_conversation(
            conversation.id,
            lang=outcome.lang.lang,
            topic=outcome.decision.candidates[0].article_id if outcome.decision.candidates else conversation.topic,
        )
        if conversation.state not in BOT_STATES:  # an agent took it while the engine ran: the bot stays silent
            return Turn(conversation, added.message, ())
        replies: list[Message] = []
        for reply in outcome.replies:
            said = self._say(conversation, reply, outcome, answers=added.message, first=not replies)
            if said.duplicate:  # another worker answered this message meanwhile (bot/desk/recovery.py)
                raise AnsweredElsewhere()
            replies.append(said.message)
        if outcome.decision.action != HANDOFF:
            return Turn(conversation, added.message, tuple(replies))  # as update_conversation left it
        replies += self._hand_off(conversation)
        return Turn(self._get(conversation.id), added.message, tuple(replies))

    def orphans(self, channel: str, within: timedelta, quiet_for: timedelta) -> list[Orphan]:
        """Customer messages of `channel` stored in the last `within`, older than `quiet_for`, never
        answered: kept before a chat platform's ack by a worker that died (bot/desk/recovery.py).
        Answer each with `receive` and its external id; two workers doing so answer it once."""
        return find_orphans(self.store, channel, self.clock(), within, quiet_for)

    def note(self, conversation_id: str, text: str, external_id: str | None = None) -> AddedMessage:
        """Keep a customer message for the agent without answering it (a command, a sticker)."""
        conversation = self._get(conversation_id)
        return self.store.add_message(conversation.id, "customer", text, lang=conversation.lang, action=Action.NOTE, external_id=external_id)

    def keep(self, conversation_id: str, text: str, external_id: str) -> AddedMessage:
        """Store a customer message now, to be answered by `receive` with the same external id
        (a chat channel keeps it before acknowledging it, and answers it after)."""
        return self.store.add_message(self._get(conversation_id).id, "customer", text, external_id=external_id)

    @one_transaction
    def choose(self, conversation_id: str, article_id: str) -> Turn:
        """The customer picked one of the offered articles."""
        conversation = self._get(conversation_id)
        reply = self.engine.answer_article(article_id, conversation.lang)
        if reply is None:
            raise NotFound(f"no article {article_id!r} in the index")
        added = self.store.add_message(conversation.id, "customer", reply.title or article_id, lang=conversation.lang)
        if conversation.state not in BOT_STATES:
            return Turn(conversation, added.message, ())
        self.store.update_conversation(conversation.id, topic=article_id)
        said = self.store.add_message(
            conversation.id, "bot", reply.text, lang=conversation.lang, action=ANSWER, article_id=article_id,
            decision={"action": ANSWER, "reason": "chosen", "candidates": [{"id": article_id}]},
        ).message
        return Turn(self._get(conversation.id), added.message, (said,))

    @one_transaction
    def rate_answer(self, conversation_id: str, message_id: int, helpful: bool) -> Turn:
        """"Did this answer your question?" — yes thanks; no hands the conversation to a person."""
        conversation = self._get(conversation_id)
        rated = next(iter(self.store.list_messages(conversation.id, after_id=message_id - 1)), None)  # by index, from it on
        rated = rated if rated is not None and rated.id == message_id else None
        if rated is None or rated.author != "bot" or rated.action != ANSWER:
            raise NotFound(f"message {message_id} is not a bot answer in conversation {conversation_id}")
        self.store.add_feedback(conversation.id, message_id=message_id, helpful=helpful)
        if helpful:
            return Turn(conversation, None, (self._system(conversation, Action.FEEDBACK_THANKS),))
        if conversation.state not in BOT_STATES:
            return Turn(conversation, None, ())
        replies = [self._system(conversation, Action.HANDOFF_AFTER_NO)]
        replies += self._hand_off(conversation)
        return Turn(self._get(conversation.id), None, tuple(replies))

    @one_transaction
    def ask_for_person(self, conversation_id: str) -> Turn:
        """A button or command that asks for a person."""
        conversation = self._get(conversation_id)
        if conversation.state not in BOT_STATES:
            return Turn(conversation, None, ())
        replies = [self._system(conversation, Action.HANDOFF_REQUESTED)] + self._hand_off(conversation)
        return Turn(self._get(conversation.id), None, tuple(replies))

    @one_transaction
    def rate_conversation(self, conversation_id: str, score: int) -> Turn:
        """The 1-5 satisfaction rating at the close of an agent conversation."""
        if not 1 <= int(score) <= 5:
            raise ValueError("csat must be an integer from 1 to 5")
        conversation = self._get(conversation_id)
        self.store.add_feedback(conversation.id, csat=int(score))
        return Turn(conversation, None, (self._system(conversation, Action.CSAT_THANKS),))

    def article_link(self, conversation: Conversation, message: Message) -> ArticleLink | None:
        """The full article under a bot answer, for chat platforms: linked at ANSWERDESK_PUBLIC_URL when it is set."""
        if message.author != "bot" or message.action != ANSWER or not message.article_id:
            return None
        try:
            snapshot = self.engine.snapshot()
        except SearchIndexError:  # the answer still goes out, without the line under it
            log.warning("no index to link article %s of message %s", message.article_id, message.id, exc_info=True)
            return None
        public_url = self.engine.settings.public_url or None
        return article_link(snapshot, message.article_id, message.lang or conversation.lang, public_url)

    def agent_name(self, agent_id: str | None, lang: str) -> str | None:
        """The name customers see for an agent (ANSWERDESK_AGENT_NAMES), in `lang`; None for no agent."""
        agent = self.store.get_agent(agent_id) if agent_id else None
        return self._shown(agent.name, lang) if agent else None

    def _shown(self, name: str, lang: str) -> str:
        style = self.engine.settings.agent_names
        if style == "team" or not name.strip():
            return phrase("support_team", lang)
        return name.split()[0] if style == "first" else name

    # -- agents ------------------------------------------------------------------
    def take(self, conversation_id: str, agent_id: str, agent_name: str) -> AgentAction:
        """An agent takes a conversation; refused, with why, if someone else was first or it is not open."""
        if not self.store.transition(conversation_id, (*QUEUE_STATES, "bot"), "agent", agent=agent_id):
            return self._refused(conversation_id, agent_id, already_when="agent")
        conversation = self._get(conversation_id)
        self._clear_pending(conversation)
        self._system(conversation, Action.AGENT_JOINED, agent=self._shown(agent_name, conversation.lang))
        return AgentAction(True, "agent", agent_id)

    def agent_reply(self, conversation_id: str, agent_id: str, text: str, article_id: str | None = None) -> Message:
        """The agent's reply; `article_id`: the article it answers with (the console's picker), which
        must be in the served index (NotFound otherwise)."""
        conversation = self._get(conversation_id)
        if conversation.state != "agent" or conversation.agent != agent_id:
            raise NotAllowed(f"conversation {conversation_id} is not yours: take it first (it is {conversation.state})")
        if article_id is not None:
            try:
                served = article_id in self.engine.snapshot().versions
            except SearchIndexError as e:
                raise NotFound(f"article {article_id!r}: there is no index to find it in ({e})") from e
            if not served:
                raise NotFound(f"no article {article_id!r} in the served index; reindex if it was just added")
        return self.store.add_message(conversation.id, "agent", text, agent=agent_id, lang=conversation.lang, article_id=article_id).message

    def hand_back(self, conversation_id: str, agent_id: str) -> AgentAction:
        """Back to the bot: the agent who has the conversation, or any agent while it is in the queue."""
        conversation = self._get(conversation_id)
        if conversation.state in QUEUE_STATES:
            moved = self.store.transition(conversation_id, QUEUE_STATES, "bot")
            if moved:
                self._clear_pending(self._get(conversation_id))
        else:
            moved = conversation.agent == agent_id and self.store.transition(conversation_id, ("agent",), "bot")
        if not moved:
            return self._refused(conversation_id, agent_id, already_when=None)
        self._system(conversation, Action.BACK_TO_BOT)
        return AgentAction(True, "bot")

    def take_over(self, conversation_id: str, agent_id: str, agent_name: str) -> AgentAction:
        """Take a conversation another agent has (`take` refuses that), said in the transcript; one
        nobody has is simply taken. The store compares the state, not the holder, so of a take-over
        and the holder's own close in the same instant, both may succeed (the close last)."""
        conversation = self.store.get_conversation(conversation_id)
        if conversation is None or conversation.state != "agent":
            return self.take(conversation_id, agent_id, agent_name)
        if conversation.agent == agent_id:
            return AgentAction(False, "agent", agent_id, already=True)
        if not self.store.transition(conversation_id, ("agent",), "agent", agent=agent_id):
            return self.take(conversation_id, agent_id, agent_name)  # handed back or closed meanwhile
        self._system(conversation, Action.AGENT_TOOK_OVER, agent=self._shown(agent_name, conversation.lang))
        return AgentAction(True, "agent", agent_id)

    def close(self, conversation_id: str, agent_id: str | None = None) -> AgentAction:
        """Close an open conversation: one an agent has only by that agent (others take it over first),
        one in the queue or with the bot by any agent. One an agent handled asks for a 1-5 rating."""
        conversation = self._get(conversation_id)
        mine = conversation.state == "agent" and conversation.agent == agent_id
        if not self.store.transition(conversation_id, ("agent",) if mine else (*QUEUE_STATES, "bot"), "closed"):
            refused = self._refused(conversation_id, agent_id, already_when="closed")
            return replace(refused, reason=NOT_YOURS) if refused.state == "agent" and refused.holder != agent_id else refused
        self._system(conversation, Action.CONVERSATION_CLOSED)
        if conversation.agent or agent_id:
            self._system(conversation, Action.CSAT_QUESTION)
        return AgentAction(True, "closed")

    def _refused(self, conversation_id: str, agent_id: str | None, already_when: str | None) -> AgentAction:
        now = self.store.get_conversation(conversation_id)
        if now is None:
            return AgentAction(False, "gone")
        already = already_when is not None and now.state == already_when and (already_when != "agent" or now.agent == agent_id)
        return AgentAction(False, now.state, now.agent, already=already)

    # -- pieces ------------------------------------------------------------------
    def _say(self, conversation: Conversation, reply: Reply, outcome: Outcome, answers: Message, first: bool) -> AddedMessage:
        """Store a reply with its evidence, marked as answering the customer message `answers` (replies
        to two quick messages may be stored after both); the first one claims it (`reply_claim`)."""
        evidence = {**_evidence(outcome.decision, outcome), "answers": answers.id}
        return self.store.add_message(
            conversation.id, "bot", reply.text, lang=outcome.lang.lang, action=reply.action,
            article_id=reply.article_id, decision=evidence, choices=reply.choices, external_id=reply_claim(answers) if first else None,
        )

    def _system(self, conversation: Conversation, key: Action, decision: dict[str, Any] | None = None, **fields: str) -> Message:
        """The desk's own message `key`, in the conversation's language; `decision`: a note for the report."""
        text = phrase(key, conversation.lang, **fields)
        return self.store.add_message(conversation.id, "bot", text, lang=conversation.lang, action=key, decision=decision).message

    def _replies_to(self, conversation_id: str, message_id: int) -> tuple[Message, ...]:
        """What the bot said to this customer message: the replies marked as answering it, else
        (system messages, older rows) the unmarked bot messages right after it."""
        later = self.store.list_messages(conversation_id, after_id=message_id)
        marked = tuple(m for m in later if m.author == "bot" and (m.decision or {}).get("answers") == message_id)
        if marked:
            return marked
        replies = []
        for m in later:
            if m.author == "customer":
                break
            if m.author == "bot" and "answers" not in (m.decision or {}):
                replies.append(m)  # an answer to another message, stored after this one, is skipped
        return tuple(replies)

    def _get(self, conversation_id: str) -> Conversation:
        conversation = self.store.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return conversation

    def _hint_language(self, hint: str | None) -> str | None:
        from bot.language.detect import parse_language_hint

        snapshot = self.engine.snapshot()
        return parse_language_hint(hint, self.engine.served_languages(snapshot)) if hint else None


def _evidence(decision: Decision, outcome: Outcome) -> dict[str, Any]:
    return {
        "action": decision.action,
        "reason": decision.reason,
        "candidates": [{"id": c.article_id, "score": round(c.score, 4), "kind": c.kind, "lang": c.lang} for c in decision.candidates],
        "lang": {"lang": outcome.lang.lang, "confidence": round(outcome.lang.confidence, 3), "source": outcome.lang.source},
        **({"read_with": decision.read_with} if decision.read_with else {}),
    }


# What a chat worker leaves to the others' sweep (channels/chat/core.py): a message younger than
# ORPHAN_QUIET may still be in its worker's hands; a starting worker looks back ORPHAN_WINDOW, a
# running one, every few seconds, ORPHAN_RECENT (cheaper, and plenty while another worker sweeps).
HISTORY = 20  # the last messages a new one is read with: the languages of the bot's last 5 replies, the last question
ORPHAN_WINDOW = timedelta(hours=1)
ORPHAN_RECENT = timedelta(minutes=10)
ORPHAN_QUIET = timedelta(seconds=15)


def orphans(desk: Desk, channel: str, within: timedelta | None = None) -> list[Orphan]:
    """`Desk.orphans` with the sweep's window (ORPHAN_WINDOW unless given) and ORPHAN_QUIET; empty when
    the store cannot be read (a database coming back: the next sweep tries again)."""
    try:
        return desk.orphans(channel, within=within or ORPHAN_WINDOW, quiet_for=ORPHAN_QUIET)
    except Exception:  # noqa: BLE001 - nothing is lost: the messages stay stored for the next sweep
        log.exception("looking for %s messages a stopped worker left unanswered failed", channel)
        return []


def build_desk(settings: Settings, engine: Engine | None = None, clock: Callable[[], datetime] = utc_now) -> Desk:
    """The desk described by the settings: engine, store and business hours."""
    from bot.answer.engine import build_engine
    from bot.desk.hours import parse_hours
    from bot.store.connect import open_store

    return Desk(
        engine or build_engine(settings),
        open_store(settings.db, clock=clock, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous),
        parse_hours(settings.hours, settings.timezone, settings.holidays),
        agent_wait=timedelta(seconds=settings.agent_wait_seconds),
        clock=clock,
        presence=timedelta(seconds=settings.presence_seconds),
    )
