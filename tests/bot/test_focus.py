"""focus(): the part of an article that answers, within the limit, as valid Markdown."""

from __future__ import annotations

import re

import pytest

from bot.answer.focus import LEAD, PASSAGE, QUESTION, WHOLE, focus
from index.kb import Article
from index.passages import split_article
from tests.conftest import MOBILE_APP_BODY

SECTIONS = ["Installing the app", "Turning on notifications", "Working offline", "Connecting a smart watch", "When the app keeps crashing"]

TURKISH_BODY = """Mobil uygulama ile siparişlerinizi takip edebilir ve bize yazabilirsiniz. Uygulama iOS 16 ve Android 11 ile çalışır.

## Uygulamayı yükleme

App Store'da veya Google Play'de **Answerdesk** uygulamasını arayın ve Yükle'ye dokunun. Hesabınızın e-posta adresi ve şifresiyle giriş yapın; uygulama için yeni bir hesap gerekmez. Şirketinizde tek oturum açma kullanıyorsanız *Şirket hesabıyla giriş* seçeneğine dokunun.

## Bildirimleri açma

Uygulamayı açın, resminize dokunun, ardından **Ayarlar › Bildirimler** bölümüne gidin. Kargonuz yola çıktığında haber almak için *Sipariş güncellemeleri* seçeneğini açın. Ekibimiz size yanıt verdiğinde haber almak için *Mesajlar* seçeneğini açın. Hiçbir şey gelmiyorsa telefonunuzun Answerdesk için bildirimlere izin verdiğini kontrol edin.

## Çevrimdışı kullanım

Uygulama son 50 siparişinizi ve faturalarını telefonda saklar; böylece bağlantı olmadan da bir faturayı gösterebilirsiniz. Çevrimdışı yaptığınız değişiklikler, örneğin yeni bir teslimat adresi, telefon yeniden çevrimiçi olduğunda gönderilir. Sohbet için bağlantı gerekir.
"""

ARABIC_BODY = """يتيح لك تطبيق Answerdesk متابعة طلباتك والتحدث معنا وإدارة حسابك من هاتفك. يعمل التطبيق على iOS 16 وAndroid 11 أو أحدث.

## تثبيت التطبيق

ابحث عن **Answerdesk** في App Store أو Google Play ثم اضغط على تثبيت. سجّل الدخول بعنوان البريد الإلكتروني وكلمة المرور الخاصة بحسابك؛ لا تحتاج إلى حساب جديد للتطبيق.

## تفعيل الإشعارات

افتح التطبيق واضغط على صورتك ثم **الإعدادات › الإشعارات**. فعّل خيار *تحديثات الطلبات* لتعرف متى يُشحن طردك ومتى يخرج للتوصيل. فعّل خيار *الرسائل* لتعرف متى يرد عليك فريقنا. إذا لم يصلك شيء، فتأكد من أن هاتفك يسمح بإشعارات Answerdesk.

## العمل دون اتصال

يحتفظ التطبيق بآخر 50 طلبًا وإيصالاتها على الهاتف، لذلك يمكنك عرض إيصال في المتجر دون اتصال بالإنترنت. تُرسل التغييرات التي تجريها دون اتصال، مثل عنوان توصيل جديد، عندما يتصل الهاتف بالإنترنت مرة أخرى.
"""


def passages_of(body: str, title: str = "Using the mobile app", lang: str = "en") -> list[str]:
    return [p.text for p in split_article(Article("mobile-app", lang, title, body)) if p.kind == "passage"]


def assert_valid(text: str, body: str, limit: int) -> None:
    """Within the limit, bold and fences closed, and cut only between words."""
    assert len(text) <= limit
    assert text.count("**") % 2 == 0, text
    assert sum(1 for line in text.splitlines() if line.startswith("```")) % 2 == 0, text
    words = re.findall(r"\w+", text)
    for word in (words[0], words[-1]):  # a cut word would not be a whole word of the article
        assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", body), f"{word!r} is cut in {text!r}"


def test_a_short_article_is_shown_whole() -> None:
    body = "Open Settings, choose Security and press **Reset password**. We e-mail you a link.\n"
    excerpt = focus(body, "How to reset your password. Open Settings, choose Security", "I forgot my password")
    assert (excerpt.text, excerpt.cut, excerpt.source) == (body.strip(), False, WHOLE)


def test_a_long_article_gives_the_section_the_passage_came_from() -> None:
    assert len(MOBILE_APP_BODY) > 1500
    [passage] = [p for p in passages_of(MOBILE_APP_BODY) if p.startswith("Using the mobile app: Turning on notifications.")]
    excerpt = focus(MOBILE_APP_BODY, passage, None)
    assert excerpt.source == PASSAGE and excerpt.cut
    assert excerpt.text.startswith("## Turning on notifications\n\nOpen the app, tap your picture")
    assert "Android under Settings › Apps › Answerdesk › Notifications." in excerpt.text
    assert not any(heading in excerpt.text for heading in SECTIONS if heading != "Turning on notifications")
    assert_valid(excerpt.text, MOBILE_APP_BODY, 600)


@pytest.mark.parametrize("passage", passages_of(MOBILE_APP_BODY))
def test_every_passage_of_the_article_finds_its_own_section(passage: str) -> None:
    excerpt = focus(MOBILE_APP_BODY, passage, "something else entirely")
    heading = next((h for h in SECTIONS if passage.startswith(f"Using the mobile app: {h}.")), None)
    assert excerpt.source == PASSAGE
    if heading:
        assert excerpt.text.startswith(f"## {heading}\n\n")
    else:
        assert excerpt.text.startswith("The Answerdesk mobile app lets you")
    assert passage.split()[-1].strip(".") in excerpt.text  # the matched words are shown
    assert_valid(excerpt.text, MOBILE_APP_BODY, 600)


@pytest.mark.parametrize(
    "question,heading",
    [
        ("How do I turn on push notifications on my phone?", "Turning on notifications"),
        ("the app keeps crashing, what can I do?", "When the app keeps crashing"),
        ("can I see my receipts without internet?", "Working offline"),
        ("does it work with my Apple Watch", "Connecting a smart watch"),
    ],
)
def test_without_a_passage_the_question_words_choose_the_section(question: str, heading: str) -> None:
    for matched in (None, "", "Some other article: words that appear nowhere in this one"):
        excerpt = focus(MOBILE_APP_BODY, matched, question)
        assert excerpt.source == QUESTION and excerpt.text.startswith(f"## {heading}\n\n"), (matched, excerpt.text)
        assert_valid(excerpt.text, MOBILE_APP_BODY, 600)


@pytest.mark.parametrize("question", [None, "", "hello there", "where do I get it?"])
def test_when_nothing_matches_the_lead_is_shown(question: str | None) -> None:
    excerpt = focus(MOBILE_APP_BODY, None, question)
    assert excerpt.source == LEAD and excerpt.cut
    assert excerpt.text.startswith("The Answerdesk mobile app lets you follow your orders")
    assert "## Installing the app\n\nSearch for **Answerdesk**" in excerpt.text  # whole sections, as many as fit
    assert not excerpt.text.rstrip().endswith("app")  # never ends on a heading alone
    assert_valid(excerpt.text, MOBILE_APP_BODY, 600)


@pytest.mark.parametrize("limit", [120, 200, 300, 450, 600, 900])
def test_cuts_end_at_a_sentence_and_keep_markdown_balanced(limit: int) -> None:
    bold = "Our team checks every order by hand. **Orders placed before noon ship the same day. Later ones ship the next day.** " * 6
    code = "To check the status from a terminal:\n\n```\ncurl https://api.example.com/orders/42\n\ncurl https://api.example.com/orders/43\n```"
    body = f"## Shipping\n\n{bold}\n\n{code}\n\n## Returns\n\n" + "Returns are free within 30 days. " * 20
    for question in ("when do orders ship", "how do I check the status from a terminal", "returns"):
        excerpt = focus(body, None, question, limit=limit)
        assert excerpt.cut
        assert_valid(excerpt.text, body, limit)
        assert excerpt.text.endswith((".", "…", "```", ".**")), excerpt.text


def test_one_sentence_longer_than_the_limit_is_cut_between_words() -> None:
    body = "## Setup\n\n" + " ".join(f"word{n}" for n in range(400))
    excerpt = focus(body, None, "setup", limit=200)
    assert excerpt.text.endswith("…") and len(excerpt.text) <= 200 and excerpt.cut
    assert_valid(excerpt.text, body, 200)


def test_a_passage_deep_in_a_long_paragraph_is_shown_from_its_sentence() -> None:
    sentences = [f"Step {n} of the warehouse setup is to check shelf {n} and label it." for n in range(1, 40)]
    body = "## Warehouse\n\n" + " ".join(sentences)
    passage = "Warehouse guide: Warehouse. " + " ".join(" ".join(sentences[30:36]).split()[:60])
    excerpt = focus(body, passage, None, limit=300)
    assert excerpt.source == PASSAGE
    assert "Step 31 of the warehouse setup" in excerpt.text and "Step 1 of" not in excerpt.text
    assert excerpt.text.startswith("## Warehouse\n\n…Step 31")
    assert_valid(excerpt.text, body, 300)


def test_turkish_words_match_with_or_without_diacritics_and_suffixes() -> None:
    for question in ("Bildirimleri nasıl açarım?", "bildirimler nasil acilir", "BİLDİRİM AYARLARI"):
        excerpt = focus(TURKISH_BODY, None, question)
        assert excerpt.source == QUESTION and excerpt.text.startswith("## Bildirimleri açma\n\n"), question
        assert_valid(excerpt.text, TURKISH_BODY, 600)
    [passage] = [p for p in passages_of(TURKISH_BODY, "Mobil uygulama", "tr") if "Çevrimdışı kullanım" in p]
    assert focus(TURKISH_BODY, passage, None).text.startswith("## Çevrimdışı kullanım\n\n")


def test_arabic_words_match_with_or_without_the_article() -> None:
    for question in ("كيف أفعّل الإشعارات؟", "لا تصلني اشعارات"):
        excerpt = focus(ARABIC_BODY, None, question)
        assert excerpt.source == QUESTION and excerpt.text.startswith("## تفعيل الإشعارات\n\n"), question
        assert_valid(excerpt.text, ARABIC_BODY, 600)
    [passage] = [p for p in passages_of(ARABIC_BODY, "تطبيق الجوال", "ar") if "العمل دون اتصال" in p]
    excerpt = focus(ARABIC_BODY, passage, None)
    assert excerpt.source == PASSAGE and excerpt.text.startswith("## العمل دون اتصال\n\n")


def test_a_passage_of_another_language_version_shows_the_same_section() -> None:
    [passage] = [p for p in passages_of(MOBILE_APP_BODY) if p.startswith("Using the mobile app: Working offline.")]
    english_structure = MOBILE_APP_BODY.split("## Connecting a smart watch")[0]  # the same four sections as TURKISH_BODY
    excerpt = focus(TURKISH_BODY, passage, None, matched_body=english_structure)
    assert excerpt.source == PASSAGE and excerpt.text.startswith("## Çevrimdışı kullanım\n\n")
    # Versions that differ in shape: no guess, the question (here none) or the lead instead.
    assert focus(TURKISH_BODY, passage, None, matched_body=MOBILE_APP_BODY).source == LEAD


def test_a_paragraph_inside_a_section_comes_with_what_follows_then_what_leads_up_to_it() -> None:
    intro = "Exports are CSV files you can open in any spreadsheet."
    steps = "Open Reports and press Export. The file arrives by e-mail within five minutes."
    columns = "Each column is explained in the table of the next section, one by one. " * 12
    body = f"## Exports\n\n{intro}\n\n{steps}\n\n{columns}\n\n## Imports\n\n" + "Imports read the same format. " * 20
    excerpt = focus(body, f"Reports guide: Exports. {steps}", None, limit=300)
    assert excerpt.source == PASSAGE
    assert excerpt.text.startswith(f"## Exports\n\n{intro}\n\n{steps}\n\nEach column is explained")
    assert "Imports" not in excerpt.text
    assert_valid(excerpt.text, body, 300)
