"""Benchmark the language decision on xSID and on short chat messages; prints tables.

Run: .venv/bin/python bench/language.py [--eval-dir DIR]
The xSID data is read from $ANSWERDESK_EVAL_DIR (default: <repo>/../shared/eval)/xsid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
XSID_LANGS = ("ar", "da", "de", "en", "id", "it", "ja", "kk", "nl", "sr", "tr", "zh")

# Short chat messages as customers type them; written for this bench, not taken from any data
# set. A few are ambiguous on purpose ("ok", "👍"): only the channel's hint can settle those.
CHAT: Mapping[str, tuple[str, Sequence[str]]] = {
    "en": ("en-US", (
        "hi", "hello", "thanks!", "I want a human", "talk to an agent", "where is my order?",
        "refund please", "my card was declined", "yes", "no thanks", "how do I reset my password",
        "cancel my subscription", "good morning", "is anyone there?", "ok",
    )),
    "tr": ("tr-TR", (
        "merhaba", "selam", "teşekkürler", "tamam", "evet", "hayır", "temsilciye bağla",
        "canlı destek", "siparişim nerede?", "iade istiyorum", "şifremi unuttum",
        "aboneliğimi iptal et", "günaydın", "kimse yok mu?", "ok",
    )),
    "ar": ("ar,en;q=0.8", (
        "مرحبا", "السلام عليكم", "شكرا", "نعم", "لا", "أريد موظف", "أين طلبي؟", "استرجاع المبلغ",
        "نسيت كلمة المرور", "إلغاء الاشتراك", "صباح الخير", "هل يوجد أحد؟", "salam", "shukran", "👍",
    )),
    "es": ("es-419", (
        "hola", "buenas", "gracias", "sí", "no gracias", "quiero hablar con una persona",
        "agente por favor", "¿dónde está mi pedido?", "quiero un reembolso", "olvidé mi contraseña",
        "cancelar suscripción", "buenos días", "¿hay alguien?", "vale", "ok",
    )),
}


@dataclass(frozen=True)
class Score:
    """Accuracy and per-call timings of one variant on one set of texts."""

    correct: int
    total: int
    seconds: tuple[float, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def eval_dir(arg: str | None) -> Path:
    """The folder holding xsid/, from --eval-dir, $ANSWERDESK_EVAL_DIR or the default."""
    return Path(arg or os.environ.get("ANSWERDESK_EVAL_DIR") or REPO.parent / "shared" / "eval")


def load_xsid(root: Path) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for lang in XSID_LANGS:
        path = root / "xsid" / f"{lang}.valid.jsonl"
        if not path.is_file():
            sys.exit(f"error: {path} not found; set ANSWERDESK_EVAL_DIR or --eval-dir to xsid/'s folder")
        with path.open(encoding="utf-8") as f:
            rows[lang] = [json.loads(line)["text"] for line in f if line.strip()]
    return rows


def plain_langdetect() -> Callable[[str], str]:
    """langdetect's own detect(), seeded, all 55 profiles, zh-cn/zh-tw read as zh."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def run(text: str) -> str:
        try:
            return detect(text).split("-")[0]
        except LangDetectException:
            return "unknown"

    return run


def score(guess: Callable[[str], str], texts: Sequence[str], lang: str, label: str) -> Score:
    correct, seconds = 0, []
    for index, text in enumerate(texts):
        start = time.perf_counter()
        answer = guess(text)
        seconds.append(time.perf_counter() - start)
        correct += answer == lang
        if index % 50 == 0:
            print(f"\r  {label:<22} {lang} {index:>4}/{len(texts)}", end="", file=sys.stderr, flush=True)
    return Score(correct, len(texts), tuple(seconds))


def timing(scores: Sequence[Score]) -> str:
    seconds = sorted(s for score in scores for s in score.seconds)
    p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]
    return f"{statistics.median(seconds) * 1000:.3f} / {p99 * 1000:.3f}"


def print_table(
    title: str, langs: Sequence[str], columns: Mapping[str, Mapping[str, Score]], hard: Sequence[str] = ()
) -> None:
    names = list(columns)
    width = max(20, *(len(n) + 2 for n in names))
    label = 24
    print(f"\n{title}")
    print("lang".ljust(label) + "".join(f"{n:>{width}}" for n in names))
    for lang in langs:
        cells = (f"{columns[n][lang].accuracy * 100:>{width - 1}.1f}%" for n in names)
        print(lang.ljust(label) + "".join(cells))
    rows = [("mean", langs)]
    if hard:
        rows.append((f"mean without {', '.join(hard)}", [lang for lang in langs if lang not in hard]))
    for row_label, subset in rows:
        means = [statistics.fmean(columns[n][lang].accuracy for lang in subset) * 100 for n in names]
        print(row_label.ljust(label) + "".join(f"{m:>{width - 1}.1f}%" for m in means))
    times = (f"{timing(list(columns[n].values())):>{width}}" for n in names)
    print("ms/call median / p99".ljust(label) + "".join(times))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--eval-dir", help="folder holding xsid/ (default: $ANSWERDESK_EVAL_DIR or ../shared/eval)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from bot.language import LanguageDetector

    rows = load_xsid(eval_dir(args.eval_dir))
    started = time.perf_counter()
    print("building detectors...", file=sys.stderr)
    plain = plain_langdetect()
    ours = {backend: LanguageDetector(XSID_LANGS, backend=backend) for backend in ("langdetect", "lingua")}
    for detector in ours.values():  # warm-up: lingua loads its models on first use
        for texts in rows.values():
            detector.detect(texts[0])
    plain(rows["en"][0])

    variants: dict[str, Callable[[str], str]] = {
        "langdetect as-is": plain,
        "ours (langdetect)": lambda t: ours["langdetect"].detect(t).lang,
        "ours (lingua)": lambda t: ours["lingua"].detect(t).lang,
    }
    xsid = {
        name: {lang: score(fn, rows[lang], lang, name) for lang in XSID_LANGS}
        for name, fn in variants.items()
    }
    print(file=sys.stderr)
    print_table(
        "xSID validation rows, served = the 12 xSID languages, no hint, no history (accuracy)",
        XSID_LANGS, xsid, hard=("kk", "sr"),
    )

    served = (*XSID_LANGS, "es")
    chat_detectors = {b: LanguageDetector(served, backend=b) for b in ("langdetect", "lingua")}
    warm_up = [texts[0] for texts in rows.values()] + ["¿Dónde está mi pedido? Lo compré ayer."]
    for detector in chat_detectors.values():  # the chat texts mostly skip the detector: warm it here
        for text in warm_up:
            detector.detect(text)
    chat_variants: dict[str, Callable[[str, str], str]] = {"langdetect as-is": lambda t, h: plain(t)}
    for backend, detector in chat_detectors.items():
        chat_variants[f"ours ({backend})"] = lambda t, h, d=detector: d.detect(t).lang
        chat_variants[f"ours ({backend}) + hint"] = lambda t, h, d=detector: d.detect(t, hint=h).lang
    chat = {
        name: {
            lang: score(lambda t, h=hint, f=fn: f(t, h), texts, lang, name)
            for lang, (hint, texts) in CHAT.items()
        }
        for name, fn in chat_variants.items()
    }
    print(file=sys.stderr)
    print_table(
        "Short chat messages (15 per language, written for this bench), served = xSID languages + es;"
        "\nhint = the customer's own locale (en-US, tr-TR, 'ar,en;q=0.8', es-419)",
        list(CHAT), chat,
    )
    print(
        "\nNotes:"
        "\n- kk: langdetect has no Kazakh profile; ours decides Cyrillic by script and Kazakh letters"
        " (әғқңөұүһі), and kk is the only Cyrillic language served here."
        "\n- sr: xSID Serbian is Latin. Neither langdetect nor lingua models Latin Serbian (lingua's"
        " sr is Cyrillic), so when sr is served and hr/bs are not, their hr/bs models stand in for"
        " sr: Serbian, Croatian and Bosnian are one written language for this purpose."
        "\n- The lexicon and the name masking are general (chat words, function words, title-case"
        " names), not tuned on these rows."
        f"\n- total bench time {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
