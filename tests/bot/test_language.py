import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.language.detect import LanguageDetector, fold_text, parse_language_hint
from bot.language.words import turkish_suffixes

ROOT = Path(__file__).parents[2]

SERVED = ["en", "ar", "tr", "es"]


@pytest.fixture(scope="module")
def detector() -> Iterator[LanguageDetector]:
    yield LanguageDetector(SERVED)


@pytest.fixture(scope="module")
def lingua_detector() -> Iterator[LanguageDetector]:
    yield LanguageDetector(SERVED, backend="lingua")


@pytest.mark.parametrize(
    ("raw", "allowed", "expected"),
    [
        ("tr-TR", ["en", "tr"], "tr"),
        ("pt_BR", ["pt", "en"], "pt"),
        ("pt-br", ["pt"], "pt"),
        ("ar,en;q=0.8", ["en", "ar"], "ar"),
        ("fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7", ["en", "es"], "es"),
        ("en;q=0.5, tr;q=0.9", ["en", "tr"], "tr"),
        ("de;q=0, en", ["de", "en"], "en"),
        ("tr_TR.UTF-8", ["tr"], "tr"),
        ("sr_RS@latin", ["sr"], "sr"),
        ("hr", ["sr", "en"], "sr"),
        ("iw", ["he"], "he"),
        ("fr", ["en"], None),
        ("*", ["en"], None),
        ("", ["en"], None),
        (None, ["en"], None),
        ("not a language!", ["en"], None),
    ],
)
def test_parse_language_hint(raw: str | None, allowed: list[str], expected: str | None) -> None:
    assert parse_language_hint(raw, allowed) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hi", "en"),
        ("I want a human", "en"),
        ("Merhaba", "tr"),
        ("merhabalar", "tr"),
        ("salam", "ar"),
        ("hola", "es"),
        ("gracias", "es"),
        ("شكرا", "ar"),
        ("teşekkürler", "tr"),
        ("How do I reset my password?", "en"),
        ("Şifremi unuttum, nasıl sıfırlarım?", "tr"),
        ("¿Cómo puedo cambiar mi contraseña?", "es"),
        ("كيف يمكنني تغيير كلمة المرور؟", "ar"),
        ("أريد إلغاء اشتراكي في Netflix Premium", "ar"),
    ],
)
def test_short_and_plain_messages(detector: LanguageDetector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang


def test_langdetect_alone_gets_these_wrong_and_we_do_not(detector: LanguageDetector) -> None:
    assert [detector.detect(t).lang for t in ("hi", "I want a human", "Merhaba")] == ["en", "en", "tr"]


@pytest.mark.parametrize("text", ["ok", "thanks", "👍", "12345", "https://example.com/order/42", "?!", ""])
def test_ambiguous_text_follows_the_hint(detector: LanguageDetector, text: str) -> None:
    decision = detector.detect(text, hint="tr-TR")
    assert (decision.lang, decision.source) == ("tr", "hint")


def test_accept_language_header_is_a_hint(detector: LanguageDetector) -> None:
    assert detector.detect("👍", hint="ar,en;q=0.8").lang == "ar"


def test_history_beats_hint_on_ambiguous_text(detector: LanguageDetector) -> None:
    decision = detector.detect("ok", hint="en-US", history=["tr", "es"])
    assert (decision.lang, decision.source) == ("es", "history")


def test_a_lone_thanks_word_does_not_switch_the_conversation(detector: LanguageDetector) -> None:
    assert detector.detect("gracias", history=["en"]).lang == "en"


def test_clear_text_overrides_hint_and_history(detector: LanguageDetector) -> None:
    text = "Siparişim üç gündür kargoda görünüyor, ne zaman teslim edilecek?"
    decision = detector.detect(text, hint="en", history=["en"])
    assert (decision.lang, decision.source) == ("tr", "detector")


def test_without_anything_to_go_on_we_use_the_default(detector: LanguageDetector) -> None:
    decision = detector.detect("👍👍")
    assert (decision.lang, decision.source) == ("en", "default")


def test_configured_languages_restrict_the_answer() -> None:
    restricted = LanguageDetector(SERVED, restrict=True)
    for text in ("Hallo, wie geht es dir?", "Ciao, come stai?", "Bonjour tout le monde", "こんにちは"):
        assert restricted.detect(text).lang in SERVED
    assert restricted.detect("Привет, как дела?", hint="es").lang == "es"
    assert restricted.detect("Привет, как дела?").lang == "en"


def test_restricted_extra_languages_are_recognised_and_no_others() -> None:
    wide = LanguageDetector(["en"], extra=["de", "fr"], restrict=True)
    assert wide.detect("Ich habe mein Passwort vergessen, was kann ich tun?").lang == "de"
    assert wide.detect("J'ai oublié mon mot de passe, que dois-je faire ?").lang == "fr"
    assert wide.detect("Ho dimenticato la password, cosa posso fare?").lang in {"en", "de", "fr"}


@pytest.mark.parametrize(
    ("text", "served", "lang"),
    [
        ("Сәлеметсіз бе, тапсырысым қайда?", ["ru", "kk"], "kk"),
        ("Здравствуйте, где мой заказ?", ["ru", "kk"], "ru"),
        ("Где мой заказ?", ["kk", "en"], "kk"),
        ("Где мой заказ?", ["sr", "ru"], "ru"),
        ("Ђе је моја поруџбина?", ["sr", "ru"], "sr"),
        ("Де моє замовлення? Дякую", ["ru", "uk"], "uk"),
        ("注文した商品はいつ届きますか", ["zh", "ja"], "ja"),
        ("我的订单什么时候到", ["zh", "ja"], "zh"),
        ("주문이 언제 도착하나요?", ["ko", "en"], "ko"),
        ("سفارش من کی می‌رسد؟", ["ar", "fa"], "fa"),
        ("متى يصل طلبي؟", ["ar", "fa"], "ar"),
        ("سفارش من کی می‌رسد؟", ["ar", "en"], "ar"),
        ("Πότε θα φτάσει η παραγγελία μου;", ["el", "en"], "el"),
        ("ההזמנה שלי לא הגיעה", ["he", "en"], "he"),
        ("คำสั่งซื้อของฉันอยู่ที่ไหน", ["th", "en"], "th"),
    ],
)
def test_script_decides_among_configured_languages(text: str, served: list[str], lang: str) -> None:
    decision = LanguageDetector(served, restrict=True).detect(text)
    assert decision.lang == lang


def test_serbian_latin_is_read_through_croatian_when_only_serbian_is_served() -> None:
    detector = LanguageDetector(["sr", "en", "de"])
    assert detector.detect("Da li mogu da promenim adresu za dostavu?").lang == "sr"


def test_detection_is_deterministic(detector: LanguageDetector) -> None:
    text = "tamam teşekkürler ama siparişim nerede"
    first = detector.detect(text)
    assert all(detector.detect(text) == first for _ in range(5))
    assert LanguageDetector(SERVED).detect(text) == first


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hi", "en"),
        ("Merhaba", "tr"),
        ("I want a human", "en"),
        ("¿Dónde está mi pedido?", "es"),
        ("مرحبا", "ar"),
    ],
)
def test_lingua_backend(lingua_detector: LanguageDetector, text: str, lang: str) -> None:
    assert lingua_detector.detect(text).lang == lang


def test_unknown_backend_names_the_setting() -> None:
    with pytest.raises(ValueError, match="ANSWERDESK_LANG_BACKEND.*langdetect, lingua"):
        LanguageDetector(["en"], backend="fasttext")


def test_bad_language_code_is_named_with_its_setting() -> None:
    with pytest.raises(ValueError, match="ANSWERDESK_LANGUAGES .*'english!'.*'en' or 'pt-BR'"):
        LanguageDetector(["english!"])
    with pytest.raises(ValueError, match="ANSWERDESK_EXTRA_LANGUAGES: .*'deutsch!'"):
        LanguageDetector(["en"], extra=["deutsch!"])
    with pytest.raises(ValueError, match=r"ANSWERDESK_DEFAULT_LANGUAGE: language code '\?'"):
        LanguageDetector(["en"], default="?")


def test_decision_fields(detector: LanguageDetector) -> None:
    decision = detector.detect("Where is my order? It has been a week.")
    assert decision.lang == "en"
    assert 0.0 <= decision.confidence <= 1.0
    assert decision.source in {"script", "lexicon", "detector", "hint", "history", "default"}


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("İSTANBUL ışık", "istanbul isik"),
        ("Teşekkürler", "tesekkurler"),
        ("أَحْمَد", "احمد"),
        ("إلى مدرسة", "الي مدرسه"),
        ("شكـــرا", "شكرا"),
        ("Straße", "strasse"),
    ],
)
def test_fold_text(text: str, folded: str) -> None:
    assert fold_text(text) == folded


# -- the open set: no configuration, the language the customer wrote in -------------------------

ENGLISH_ONLY = ["en"]


@pytest.fixture(scope="module")
def english_kb() -> Iterator[LanguageDetector]:
    yield LanguageDetector(ENGLISH_ONLY, backend="lingua")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ich habe meine Bestellung vor zwei Wochen aufgegeben und sie ist noch nicht angekommen.", "de"),
        ("Hallo, ich brauche Hilfe mit meinem Konto", "de"),
        ("Jeg har ikke modtaget min pakke endnu, kan I hjælpe mig?", "da"),
        ("Hvordan ændrer jeg min adgangskode?", "da"),
        ("Non riesco ad accedere al mio account, potete aiutarmi?", "it"),
        ("Vorrei annullare il mio abbonamento", "it"),
        ("注文した商品がまだ届いていません。", "ja"),
        ("パスワードを忘れました", "ja"),
    ],
)
def test_unserved_languages_are_reported_as_written(english_kb: LanguageDetector, text: str, lang: str) -> None:
    assert english_kb.detect(text).lang == lang


@pytest.mark.parametrize("backend", ["lingua", "langdetect"])
def test_a_german_message_into_an_english_kb_is_german(backend: str) -> None:
    detector = LanguageDetector(ENGLISH_ONLY, backend=backend)
    decision = detector.detect("Können Sie mir bitte sagen, wann meine Bestellung ankommt?")
    assert decision.lang == "de"
    assert not detector.serves(decision.lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hi", "en"),
        ("ok", "en"),
        ("no", "en"),  # also Spanish and Italian: the default settles it
        ("thanks!", "en"),
        ("hola", "es"),
        ("sí", "es"),  # also Italian: a served language wins
        ("salam", "ar"),  # also Persian, Azerbaijani, Malay, Indonesian
        ("merhaba", "tr"),
        ("tamam", "tr"),
        ("I want a human", "en"),
        ("where is my order?", "en"),
    ],
)
def test_short_chat_words_resolve_to_served_languages(text: str, lang: str) -> None:
    assert LanguageDetector(SERVED, backend="lingua").detect(text).lang == lang


def test_hint_and_history_still_lead_in_the_open_set() -> None:
    detector = LanguageDetector(SERVED, backend="lingua")
    assert detector.detect("ok", hint="tr-TR").lang == "tr"
    assert detector.detect("ok", hint="de-DE").lang == "de"  # a hint may name an unserved language
    assert detector.detect("gracias", history=["en"]).lang == "en"
    assert detector.detect("ok", history=["it"]).lang == "it"


def test_served_languages_are_told_apart_from_the_rest() -> None:
    detector = LanguageDetector(["pt", "en", "sr"], backend="lingua")
    assert detector.serves("en") and detector.serves("pt-BR") and detector.serves("sr_RS@latin")
    assert detector.serves("hr")  # read as Serbian when only Serbian is served
    assert not detector.serves("de") and not detector.serves("")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Gde je moja porudžbina? Čekam već nedelju dana.", "sr"),
        ("Gdje je moja narudžba? Čekam već tjedan dana.", "hr"),
        ("Saya mau tanya, kapan pesanan saya bisa dikirim?", "id"),
        ("Saya mahu tanya bila pesanan saya boleh dihantar?", "ms"),
    ],
)
def test_words_tell_apart_what_the_ngrams_mix_up(english_kb: LanguageDetector, text: str, lang: str) -> None:
    assert english_kb.detect(text).lang == lang


def test_cyrillic_without_kazakh_letters_is_weighed_not_assumed(english_kb: LanguageDetector) -> None:
    assert english_kb.detect("Здравствуйте, где мой заказ? Я жду уже неделю.").lang == "ru"
    assert english_kb.detect("Сәлеметсіз бе, тапсырысым қайда?").lang == "kk"


def test_turkish_apostrophe_suffixes_count_as_turkish() -> None:
    assert turkish_suffixes("Deezer'da Tarkan'ın şarkısını 1995'ten çal") == 3
    assert turkish_suffixes("I don't know, it's l'album d'hier, rock'n'roll") == 0


def test_importing_loads_no_detector() -> None:
    code = "import sys, bot.language.detect; print(sorted(m for m in ('lingua', 'langdetect') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_many_threads_on_a_fresh_detector_agree_with_one() -> None:
    texts = [
        "Ich brauche Hilfe", "Jeg har et spørgsmål om min ordre", "Dov'è il mio ordine?", "Where is my order?",
        "Siparişim nerede?", "¿Dónde está mi pedido?", "Waar is mijn bestelling?", "Gdzie jest moje zamówienie?",
    ] * 4
    alone = [LanguageDetector(SERVED, backend="lingua").detect(text) for text in texts]
    shared = LanguageDetector(SERVED, backend="lingua")
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(shared.detect, texts))
    assert together == alone


def test_loading_up_front_changes_no_answer() -> None:
    text = "Ciao, vorrei parlare con una persona"
    eager = LanguageDetector(SERVED, backend="lingua", restrict=True)
    eager.load()
    assert eager.detect(text) == LanguageDetector(SERVED, backend="lingua", restrict=True).detect(text)


@pytest.mark.parametrize(("text", "lang"), [
    ("sluk alarmen", "da"),  # one Danish everyday verb and no rival: Danish, not English
    ("tampilkan alarm", "id"),
    ("delete alarm", "en"),
    ("show alarms", "en"),
    ("alarmı kapat", "tr"),
    ("sabah alarmini sil", "tr"),  # typed without its letters; "sil" (delete) is Turkish, not Tagalog
])
def test_a_two_word_request_goes_by_its_one_common_word(lingua_detector: LanguageDetector, text: str, lang: str) -> None:
    assert lingua_detector.detect(text).lang == lang
