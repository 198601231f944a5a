"""Taking each language's centre off the vectors, so a question meets meanings, not its language.

Multilingual encoders put one language's sentences near that language's own centre: a Kazakh
question resembles every Kazakh example more than their meanings warrant, so an article the desk
gave Kazakh questions draws Kazakh questions about something else, and an article written only
in English scores low for every Kazakh question. Taking each language's mean vector off before
comparing (Libovicky et al. 2020, "On the language neutrality of pre-trained multilingual
representations") compares what the texts say (bench/language_centring.py, docs/retrieval.md).

The means come from what customers asked: the reindex (bot/reindex/run.py) reads the store's
recent questions, each with the language the engine read in it, and each encoder encodes them
twice, as questions (their mean is taken off customers' questions) and as passages (taken off
the KB's parts, which are encoded that way). The KB's own languages take theirs from its titles
and example questions instead. A language with fewer than MIN_MESSAGES messages has no mean of
its own and takes the average of the others'. A desk whose customers write fewer than
MIN_LANGUAGES languages is not centred: there is no language to tell apart, and the index is
built as it always was. A vector loses SHARE of its language's mean, not all of it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

import numpy as np

MIN_MESSAGES = 10  # a language's own mean needs this many of its customers' messages
MIN_LANGUAGES = 2
PER_LANGUAGE = 200  # the most recent messages of a language that make its mean
STABLE = 0.25  # a mean that moved less (of the languages' spread) than this keeps the previous snapshot's
# How much of its language's mean a vector loses. The whole mean ranks as well but pushes the
# off-topic probes up with the right answers, so calibration hands off one right answer in six;
# chosen on xSID's dev splits over 0.25-1 (docs/retrieval.md).
SHARE = 0.5
FILE = "centring.npz"


@dataclass(frozen=True)
class Centring:
    """Per encoder, each language's mean vector as a question and as a passage."""

    langs: tuple[str, ...]
    query: tuple[np.ndarray, ...]  # per encoder: (len(langs) + 1, dim); the last row is the languages' average
    passage: tuple[np.ndarray, ...]

    @staticmethod
    def from_messages(
        messages: Iterable[tuple[str, str]], encode: Callable[[list[str], bool], Sequence[np.ndarray]], kb_langs: Collection[str] = ()
    ) -> "Centring | None":
        """The means of `messages` ((language as the engine read it, text), most recent first),
        or None when customers wrote fewer than MIN_LANGUAGES languages MIN_MESSAGES times each.
        `encode(texts, as_passages)` gives each encoder's vectors of `texts`, as questions or as
        passages. The KB's own languages (`kb_langs`) are left to `with_kb_languages`: the
        language of a file is known, a message's is a guess, and the guesses that go wrong
        mostly land on the KB's language (a Serbian question naming an English film)."""
        by_lang: dict[str, list[str]] = defaultdict(list)
        for lang, text in messages:
            if lang and text.strip() and len(by_lang[lang]) < PER_LANGUAGE:
                by_lang[lang].append(text)
        if sum(len(texts) >= MIN_MESSAGES for texts in by_lang.values()) < MIN_LANGUAGES:
            return None
        langs = tuple(sorted(lang for lang, texts in by_lang.items() if len(texts) >= MIN_MESSAGES and lang not in kb_langs))
        texts = [t for lang in langs for t in by_lang[lang]]
        owner = np.repeat(np.arange(len(langs)), [len(by_lang[lang]) for lang in langs])

        def means(vectors: np.ndarray) -> np.ndarray:
            return _with_average(np.stack([vectors[owner == i].mean(axis=0) for i in range(len(langs))]) if langs else vectors)

        return Centring(langs, tuple(map(means, encode(texts, False))), tuple(map(means, encode(texts, True))))

    def with_kb_languages(self, langs: Sequence[str], passage: Sequence[np.ndarray], query: Sequence[np.ndarray]) -> "Centring":
        """These means plus one for each language of the KB's titles and example questions that
        has none yet: their mean, from their vectors per encoder in both modes (rows as in
        `langs`). The languages' average (the last row) is then taken again over all."""
        counts = Counter(langs)
        own = [lang for lang in sorted(counts) if lang not in self.place and counts[lang] >= MIN_MESSAGES]
        if not own:
            return self
        where = np.asarray(langs)
        extra = lambda vectors: np.stack([vectors[where == lang].mean(axis=0) for lang in own])  # noqa: E731
        return Centring(
            self.langs + tuple(own),
            tuple(_with_average(np.vstack([m[:-1], extra(v)])) for m, v in zip(self.query, query)),
            tuple(_with_average(np.vstack([m[:-1], extra(v)])) for m, v in zip(self.passage, passage)),
        )

    def close_to(self, other: "Centring | None", shift: float = STABLE) -> bool:
        """Whether `other` has every language of these means, none of which moved by `shift` of
        the languages' typical distance from their average (per encoder and mode): then a reindex
        keeps `other`, and with it the previous index's vectors and calibration. (A mean from 40
        messages moves by 0.2-0.6 of it between two samples of one traffic; from 200, less.)"""
        if other is None or len(other.query) != len(self.query):
            return False
        if any(lang not in other.place for lang in self.langs):
            return False
        rows = [other.place[lang] for lang in self.langs]
        for mine, theirs in zip(self.query + self.passage, other.query + other.passage):
            spread = float(np.linalg.norm(theirs[:-1] - theirs[-1], axis=1).mean())
            if rows and float(np.linalg.norm(mine[:-1] - theirs[rows], axis=1).max()) > shift * spread:
                return False
        return True

    def centre(self, encoder: int, vectors: np.ndarray, langs: Sequence[str | None], mode: str) -> np.ndarray:
        """`vectors` (one row per text, encoded as `mode`) with their languages' means taken off, unit length."""
        means = (self.query if mode == "query" else self.passage)[encoder]
        rows = [self.place.get(lang, len(self.langs)) for lang in langs]  # type: ignore[arg-type]
        centred = np.asarray(vectors, np.float32) - SHARE * means[rows]
        return np.ascontiguousarray(centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9), dtype=np.float32)

    @cached_property
    def place(self) -> dict[str, int]:
        """Each language's row in the means (a language not there takes the last, the average)."""
        return {lang: i for i, lang in enumerate(self.langs)}

    @property
    def key(self) -> str:
        """Changes whenever a mean does: vectors centred with other means are not comparable."""
        digest = hashlib.blake2b("\0".join(self.langs).encode(), digest_size=16)
        for array in self.query + self.passage:
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def save(self, folder: Path) -> None:
        arrays = {f"{mode}_{e}": a for mode, means in (("query", self.query), ("passage", self.passage)) for e, a in enumerate(means)}
        np.savez(folder / FILE, langs=np.array(self.langs, dtype="U16"), **arrays)

    @staticmethod
    def load(folder: Path, encoders: int) -> "Centring | None":
        """The snapshot's means; None for a snapshot built without them."""
        if not (folder / FILE).exists():
            return None
        with np.load(folder / FILE) as data:
            return Centring(
                tuple(str(lang) for lang in data["langs"]),
                tuple(data[f"query_{e}"] for e in range(encoders)),
                tuple(data[f"passage_{e}"] for e in range(encoders)),
            )


def _with_average(means: np.ndarray) -> np.ndarray:
    """The languages' means and, as the last row, their average (the mean of a language that has none)."""
    return np.vstack([means, means.mean(axis=0, keepdims=True) if len(means) else means[:0]]).astype(np.float32)


def part_languages(langs: Sequence[str], kinds: Sequence[str], texts: Sequence[str], language_of: Callable[[str], str] | None) -> list[str]:
    """Each part's language: its article version's, except an example question's, which is read
    as a customer's message is (the desk adds customers' questions to an article in the language
    they were asked in, which need not be the version's)."""
    if language_of is None:
        return list(langs)
    return [language_of(text) if kind == "question" else lang for lang, kind, text in zip(langs, kinds, texts)]
