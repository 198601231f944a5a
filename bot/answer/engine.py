"""The message path, top to bottom: language → retrieval → decision → reply.

Channels hand the engine an `Inbound` and render the `Outcome` it returns; they decide
nothing. Storing conversations around this path is the conversation layer's job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Sequence

from bot.actions import Action
from bot.answer.articles import ArticleVersion, find_version
from bot.answer.calibration import Calibration
from bot.config import Settings
from bot.answer.decision import (
    ANSWER, CLARIFY, HANDOFF, MAX_CHOICES, SMALLTALK, Decision, Thresholds, decide, hand_off_requested, reads_better, small_talk_decision,
)
from bot.answer.follow_up import joined, may_follow_up, starts_with_cue
from bot.errors import SearchIndexError
from bot.answer.focus import focus
from bot.answer.human_request import asks_for_human, feedback_topic
from bot.language.detect import LanguageDecision, LanguageDetector
from bot.answer.phrases import language_name, phrase, phrase_languages
from bot.answer.smalltalk import small_talk
from bot.store.model import Choice
from index.encoders import Encoder, Encoders, as_encoders, make_encoders
from index.search import ArticleScore, LiveIndex, SearchIndex

FALLBACK_THRESHOLDS = Thresholds(answer=0.6, handoff=0.45, margin=0.03)


@dataclass(frozen=True)
class Inbound:
    """One customer message as a channel hands it over."""

    text: str
    lang_hint: str | None = None  # raw: "tr-TR", "ar,en;q=0.8", Telegram's language_code
    history_langs: Sequence[str] = ()  # languages of the conversation's earlier messages
    history_texts: Sequence[str] = ()  # the customer's earlier questions, the last one last


@dataclass(frozen=True)
class Reply:
    author: str  # "bot"
    text: str
    action: Action  # answer | clarify | handoff | smalltalk
    article_id: str | None = None
    article_lang: str | None = None
    title: str | None = None
    updated: str | None = None
    choices: tuple[Choice, ...] = ()
    cut: bool = False  # an answer shows part of its article: the full article has more


@dataclass(frozen=True)
class Outcome:
    lang: LanguageDecision
    decision: Decision
    replies: tuple[Reply, ...] = field(default=())


class Engine:
    """Answers one message at a time from the live index, in the customer's language."""

    def __init__(self, settings: Settings, encoder: Encoder | Encoders, index: LiveIndex) -> None:
        self.settings = settings
        self.encoders = as_encoders(encoder)
        self.index = index
        self._detectors: dict[tuple[str, ...], LanguageDetector] = {}
        self._lock = threading.Lock()
        self._thresholds: tuple[SearchIndex, Thresholds] | None = None

    # -- the path -------------------------------------------------------------
    def respond(self, message: Inbound) -> Outcome:
        """Decide what to say to one customer message."""
        snapshot = self.snapshot()
        lang = self.detector(snapshot).detect(message.text, hint=message.lang_hint, history=message.history_langs)
        chat = small_talk(message.text)
        if chat:
            decision = small_talk_decision(chat)
            return Outcome(lang, decision, (self.render(snapshot, decision, lang.lang),))
        candidates = self.search(snapshot, message.text, lang.lang)
        if asks_for_human(message.text, lang.lang):
            decision = hand_off_requested(candidates)
        else:
            decision = self._with_context(snapshot, message, lang.lang, decide(candidates, self.thresholds(snapshot)))
        question = joined(decision.read_with, message.text) if decision.read_with else message.text
        return Outcome(lang, decision, (self.render(snapshot, decision, lang.lang, question=question),))

    def search(self, snapshot: SearchIndex, text: str, lang: str | None, k: int = MAX_CHOICES) -> list[ArticleScore]:
        """The best articles for a question, its typing put right first.

        A message about rating or thanking an agent is searched with the words for feedback
        added: alone, its agent word pulls it to the article on reaching a person."""
        query = snapshot.speller.correct(text, lang)
        topic = feedback_topic(text, lang)
        vectors = self.encoders.encode_queries([f"{query} ({topic})" if topic else query])
        return snapshot.search([v[0] for v in vectors], k=k, lang=lang)

    def _with_context(self, snapshot: SearchIndex, message: Inbound, lang: str, alone: Decision) -> Decision:
        """A follow-up read with the conversation's last question, when that reading answers better."""
        previous = message.history_texts[-1] if message.history_texts else ""
        cue = starts_with_cue(message.text, lang)
        if not previous or not may_follow_up(message.text, lang) or (alone.action == ANSWER and not cue):
            return alone
        together = decide(self.search(snapshot, joined(previous, message.text), lang), self.thresholds(snapshot))
        # A message that opens as a continuation ("and in the chat?") says it leans on the last
        # question: read together it wins whenever that reading answers.
        if (cue and together.action == ANSWER) or reads_better(together, alone):
            return replace(together, read_with=previous)
        return alone

    def answer_article(self, article_id: str, lang: str) -> Reply | None:
        """The reply for an article the customer picked from the choices."""
        snapshot = self.snapshot()
        if article_id not in snapshot.versions:
            return None
        return self._answer(snapshot, article_id, lang)

    # -- pieces ---------------------------------------------------------------
    def snapshot(self) -> SearchIndex:
        """The live index, refusing one built with another encoder (its vectors mean nothing here)."""
        snapshot = self.index.current()
        if snapshot.encoder_name != self.encoders.name:
            raise SearchIndexError(
                f"the index at {self.index.index_dir} was built with encoder {snapshot.encoder_name!r}, "
                f"but ANSWERDESK_ENCODER gives {self.encoders.name!r}: run 'answerdesk reindex'"
            )
        return snapshot

    def warm_up(self) -> None:
        """Load the index, the encoders, the language models and the served languages' word lists
        now rather than on the first message (and before a server forks its workers)."""
        snapshot = self.snapshot()
        detector = self.detector(snapshot)
        detector.load()
        for lang in self.served_languages(snapshot):
            snapshot.speller.load(lang)
        self.respond(Inbound("How can I reach a person?"))  # a real question: encoder, search and decision all load

    def thresholds(self, snapshot: SearchIndex) -> Thresholds:
        """Calibrated thresholds of this snapshot, with configured overrides on top (worked out once per snapshot)."""
        memo = self._thresholds
        if memo is not None and memo[0] is snapshot:
            return memo[1]
        calibrated = Calibration.from_dict(snapshot.calibration).thresholds if snapshot.calibration else FALLBACK_THRESHOLDS
        s = self.settings
        thresholds = Thresholds(
            answer=s.answer_threshold if s.answer_threshold is not None else calibrated.answer,
            handoff=s.handoff_threshold if s.handoff_threshold is not None else calibrated.handoff,
            margin=s.clarify_margin if s.clarify_margin is not None else calibrated.margin,
        )
        self._thresholds = (snapshot, thresholds)
        return thresholds

    def served_languages(self, snapshot: SearchIndex) -> tuple[str, ...]:
        return served_languages(self.settings, snapshot.langs)

    def detector(self, snapshot: SearchIndex) -> LanguageDetector:
        served = self.served_languages(snapshot)
        detector = self._detectors.get(served)
        if detector is None:
            with self._lock:
                detector = self._detectors.get(served)
                if detector is None:
                    detector = self._detectors[served] = language_detector(self.settings, snapshot.langs)
        return detector

    def render(self, snapshot: SearchIndex, decision: Decision, lang: str, question: str | None = None) -> Reply:
        """The reply for a decision; an answer shows the part of the article that answers `question`."""
        if decision.action == ANSWER and decision.article_id:
            best = decision.candidates[0] if decision.candidates else None
            if best is None or best.article_id != decision.article_id:
                return self._answer(snapshot, decision.article_id, lang, question=question)
            # The passage retrieval matched, where it offers one (ArticleScore.passage).
            matched = str(getattr(best, "passage", "") or "")
            return self._answer(snapshot, decision.article_id, lang, matched, question, best.lang)
        if decision.action == CLARIFY:
            choices = tuple(Choice(c.article_id, _version(snapshot, c.article_id, lang).title) for c in decision.candidates)
            return Reply("bot", phrase("clarify_prompt", lang), CLARIFY, choices=choices)
        if decision.action == SMALLTALK:
            return Reply("bot", phrase("greeting" if decision.reason == "greeting" else "welcome", lang), SMALLTALK)
        key = Action.HANDOFF_REQUESTED if decision.reason == "asked_for_person" else "handoff_not_covered"
        return Reply("bot", phrase(key, lang), HANDOFF)

    def _answer(
        self, snapshot: SearchIndex, article_id: str, lang: str, matched: str = "", question: str | None = None, matched_lang: str | None = None
    ) -> Reply:
        version = _version(snapshot, article_id, lang)
        source = None  # a passage of another language version points at the same section of this one
        if matched and matched_lang and matched_lang not in ("*", version.lang):
            source = find_version(snapshot, article_id, matched_lang, fallback=False)
        excerpt = focus(version.body, matched, question, matched_body=source.body if source else None)
        text = excerpt.text or version.title
        if excerpt.cut:
            text = f"{text}\n\n{phrase('answer_more', lang)}"
        if version.lang != lang:
            note = phrase(
                "answer_other_language",
                lang,
                lang_name=language_name(lang, lang),
                article_lang_name=language_name(version.lang, lang),
            )
            text = f"{note}\n\n{text}"
        older = _older_than_source(snapshot, article_id, version.lang, lang)
        if older:
            text = f"{text}\n\n{older}"
        return Reply("bot", text, ANSWER, article_id, version.lang, version.title, version.updated or None, cut=excerpt.cut)



def _older_than_source(snapshot: SearchIndex, article_id: str, version_lang: str, lang: str) -> str:
    """The line under an answer from a translation the reindex found stale (its source changed since), in `lang`."""
    data = snapshot.article(article_id, version_lang) or {}
    if not data.get("stale"):
        return ""
    name = language_name(str(data.get("source") or ""), lang)
    date = str(data.get("source_updated") or "")
    if not date:
        return phrase("translation_older_undated", lang, source_lang_name=name)
    return phrase("translation_older", lang, source_lang_name=name, date=date)


def _version(snapshot: SearchIndex, article_id: str, lang: str) -> ArticleVersion:
    version = find_version(snapshot, article_id, lang)
    if version is None:
        raise KeyError(article_id)
    return version


def served_languages(settings: Settings, kb_langs: Sequence[str]) -> tuple[str, ...]:
    """The configured languages, else the KB's and the bot's phrases' languages."""
    return settings.language_list("languages") or tuple(sorted(set(kb_langs) | set(phrase_languages())))


def language_detector(settings: Settings, kb_langs: Sequence[str]) -> LanguageDetector:
    """The language decision the engine makes for a KB in `kb_langs` (calibration reads the KB's
    example questions with it, as customers' messages are read)."""
    return LanguageDetector(
        served_languages(settings, kb_langs),
        extra=settings.language_list("extra_languages"),
        backend=settings.lang_backend,
        default=settings.default_language,
        restrict=bool(settings.language_list("languages")),
    )


def message_encoders(settings: Settings) -> Encoders:
    """The encoders that read customers' messages, with ANSWERDESK_THREADS each; beside e5 (the
    one that costs) USE, ~2 ms a message, keeps one BLAS thread so two pools do not fight."""
    if "e5" in settings.encoder.split("+"):
        return make_encoders(settings.encoder, threads=1, unforkable_threads=settings.threads)
    return make_encoders(settings.encoder, threads=settings.threads)


def build_engine(settings: Settings) -> Engine:
    """An engine over the index published at settings.index_dir."""
    return Engine(settings, message_encoders(settings), LiveIndex(settings.index_dir))
