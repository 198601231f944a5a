"""Questions typed as customers type them, put right before they are searched.

Customers leave out diacritics ("cumartesi acik misiniz"), slip a finger ("pasword") and write
in lower case. Each word is checked against the KB's own words and the language's word
frequencies (wordfreq, offline): a word typed without its marks gets them back when the
marked word is far more common ("acik" -> "açık"); a word that is neither in the KB nor a
common word of the language is replaced by the best-known word one edit away, unless it is a
known word with a short ending ("puanlarım": agglutinative languages inflect beyond any list).
Names, brands and codes that are in neither are left alone. Scripts written without spaces are left alone.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

_WORD = re.compile(r"[^\W\d_]+")
TOP_WORDS = 60000  # at least the language's this many most frequent words are loaded
KNOWN = 1e-6  # a word at least this frequent (Zipf 3) is a real word, not a typo: all are loaded
RESTORE_RATIO = 10.0  # the marked form must be this much more frequent to replace the bare one
CORRECT_RATIO = 5.0  # a correction must be this much more frequent than the word it replaces
KB_FREQUENCY = 1e-4  # what a word of the KB counts as, in wordfreq's units: the KB's words win
MIN_LENGTH = 3
STEM = 5  # a known word this long, plus an ending of up to ENDING letters, is an inflected form
ENDING = 2
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")
# wordfreq names Serbo-Croatian (Latin script) "sh".
_WORDFREQ_CODES = {"sr": "sh", "hr": "sh", "bs": "sh", "no": "nb"}
_lock = threading.Lock()


def fold(word: str) -> str:
    """A word without case and marks: the form a keyboard without them produces."""
    word = word.replace("İ", "i").replace("I", "i").replace("ı", "i").casefold()
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)).replace("ß", "ss")


class Lexicon:
    """Known words of one language: their frequency, and the most frequent word per folded form."""

    def __init__(self, frequencies: Mapping[str, float]) -> None:
        self.frequency = dict(frequencies)
        self.by_fold: dict[str, tuple[str, float]] = {}
        for word, freq in self.frequency.items():
            key = word if word.isascii() and word.islower() else fold(word)
            if key not in self.by_fold or self.by_fold[key][1] < freq:
                self.by_fold[key] = (word, freq)
        letters = {ch for word in list(self.frequency)[:5000] for ch in word}
        self.alphabet = "".join(sorted(letters | {ch for ch in "abcdefghijklmnopqrstuvwxyz" if letters & set("abcdefghijklmnopqrstuvwxyz")}))


@lru_cache(maxsize=64)
def language_lexicon(lang: str) -> Lexicon | None:
    """The language's common words from wordfreq, or None when it has no list for it."""
    import wordfreq

    code = _WORDFREQ_CODES.get(lang, lang)
    if code not in wordfreq.available_languages():
        return None
    with _lock:  # wordfreq caches its lists in module globals
        buckets = wordfreq.get_frequency_list(code)  # bucket i holds the words of frequency 10^(-i/100)
    words: dict[str, float] = {}
    for i, bucket in enumerate(buckets):
        for word in bucket:
            if _WORD.fullmatch(word):
                words[word] = 10 ** (-i / 100)
        if len(words) >= TOP_WORDS and 10 ** (-i / 100) < KNOWN:
            break
    return Lexicon(words)


class Speller:
    """Corrects customers' words against the KB's words and the language's common words."""

    def __init__(self, kb_words: Iterable[str]) -> None:
        self.kb = Lexicon({w: KB_FREQUENCY for w in {w.lower() for w in kb_words if len(w) >= MIN_LENGTH}})

    def load(self, lang: str) -> None:
        """Load a language's word list now rather than on its first question."""
        language_lexicon(lang)

    def correct(self, text: str, lang: str | None) -> str:
        """The text with each misspelt or unmarked word replaced; everything else as typed."""
        if not text or _unspaced(text):
            return text
        lexicon = language_lexicon(lang) if lang else None
        return _WORD.sub(lambda m: self._word(m.group(), lexicon), text)

    def _word(self, word: str, lexicon: Lexicon | None) -> str:
        lower = word.lower()
        if len(lower) < MIN_LENGTH:
            return word
        known = [self.kb] + ([lexicon] if lexicon else [])
        freq = max(self._frequency(lower, known), 0.0)
        folded = fold(lower)
        restored = max((lex.by_fold.get(folded, ("", 0.0)) for lex in known), key=lambda pair: pair[1])
        if restored[0] and restored[0] != lower and restored[1] > RESTORE_RATIO * freq:
            return restored[0]
        if freq >= KNOWN or lower in self.kb.frequency or _inflected(lower, known):
            return word
        # Every word of the KB counts the same, so several can tie ("chars": chats, chart, charm).
        # A tie goes to the language's more common word, then to the first in alphabetical order:
        # never to the order a set happens to iterate in, which changes from one process to the next.
        best, best_key = word, (0.0, 0.0)
        for lex in known:
            for candidate in _edits(lower, lex.alphabet) | _edits(folded, lex.alphabet):
                found = lex.frequency.get(candidate) or lex.by_fold.get(candidate, ("", 0.0))[1]
                if not found:
                    continue
                spelled = candidate if lex.frequency.get(candidate) else lex.by_fold[candidate][0]
                key = (found, lexicon.frequency.get(spelled, 0.0) if lexicon else 0.0)
                if key > best_key or (key == best_key and spelled < best):
                    best, best_key = spelled, key
        return best if best_key[0] > CORRECT_RATIO * freq else word

    @staticmethod
    def _frequency(word: str, lexicons: list[Lexicon]) -> float:
        return max(lex.frequency.get(word, 0.0) for lex in lexicons)


def _inflected(word: str, lexicons: list[Lexicon]) -> bool:
    """A known word (the KB's words count as known) with an ending the lists lack ("puanlarım":
    "puanları" + "m"): agglutinative languages make more forms than any list holds, and one
    edit would turn the form into another word."""
    stems = (word[:-cut] for cut in range(1, ENDING + 1))
    return any(len(stem) >= STEM and Speller._frequency(stem, lexicons) >= KNOWN for stem in stems)


def _edits(word: str, alphabet: str) -> set[str]:
    """Every string one deletion, swap, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in alphabet}
    out |= {a + c + b for a, b in splits for c in alphabet}
    return out


def _unspaced(text: str) -> bool:
    """Whether the text is in a script written without spaces between words."""
    return any(unicodedata.name(ch, "").startswith(_UNSPACED) for ch in text if ch.isalpha())


def kb_words(texts: Iterable[str]) -> list[str]:
    """The distinct words of the KB's texts, as the speller keeps them."""
    return sorted({m.group().lower() for text in texts for m in _WORD.finditer(text) if len(m.group()) >= MIN_LENGTH})
