"""Personal data leaves a customer's words before a suggestion shows them; ordinary questions stay as asked."""

import pytest

from bot.suggestions.scrub import nothing_left, personal_data, private_link, scrub


@pytest.mark.parametrize("text", [
    "How do I return 2 items bought in 2024?",
    "what is error 404",
    "Şifremi unuttum, 3 kez denedim",
    "¿Cuánto tarda el envío a Madrid? Pedí 2 camisetas talla 38 40 42",
    "كم يستغرق الشحن؟ طلبت ٣ قطع",
    "On 2024-11-02 I paid 1.500.000 TL, is that right?",
    "Is the 14.11.2026 sale still on at 10:30?",
    "see https://example.com/help/returns.",
    "www.example.com/help/windows10-install-guide explains it?",
    "Does https://example.com/help#section-2 apply to me?",
])
def test_ordinary_questions_are_left_as_asked(text: str) -> None:
    assert scrub(text) == text
    assert personal_data(text) == []


@pytest.mark.parametrize("text, scrubbed, found", [
    ("my email is john.doe+shop@example.co.uk, help", "my email is [email], help", ["john.doe+shop@example.co.uk"]),
    ("E-postam ayşe_k@ornek.com.tr", "E-postam [email]", ["ayşe_k@ornek.com.tr"]),
    ("بريدي ahmed.ali@mail.com شكرا", "بريدي [email] شكرا", ["ahmed.ali@mail.com"]),
])
def test_email_addresses(text: str, scrubbed: str, found: list[str]) -> None:
    assert scrub(text) == scrubbed
    assert personal_data(text) == found


@pytest.mark.parametrize("text, scrubbed", [
    ("call me on +90 532 123 45 67 please", "call me on [phone] please"),  # international form, any country
    ("+49 30 901820 is my office", "[phone] is my office"),  # a country not in the regions, written with +
    ("0532 123 45 67 numaramdan arayın", "[phone] numaramdan arayın"),  # Turkey, national form
    ("my number is (415) 555-2671", "my number is [phone]"),  # the US
    ("ring 07911 123456 after six", "ring [phone] after six"),  # the UK
    ("mi teléfono es 612 345 678", "mi teléfono es [phone]"),  # Spain
    ("رقمي 050 123 4567", "رقمي [phone]"),  # Saudi Arabia
    ("رقم هاتفي ٠٥٠١٢٣٤٥٦٧", "رقم هاتفي [phone]"),  # Arabic-Indic digits
])
def test_phone_numbers(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed
    assert len(personal_data(text)) == 1


@pytest.mark.parametrize("text, scrubbed", [
    ("card 4111 1111 1111 1111 was charged twice", "card [number] was charged twice"),
    ("card 4111-1111-1111-1111", "card [number]"),
    ("where is order #12345678?", "where is order [number]?"),
    ("siparişim 98765432 gelmedi", "siparişim [number] gelmedi"),
    ("الطلب ١٢٣٤٥٦٧٨ لم يصل", "الطلب [number] لم يصل"),
    ("IBAN TR33 0006 1005 1978 6457 8413 26 is mine", "IBAN [number] is mine"),
    ("tracking 1Z.999.AA1", "tracking 1Z.999.AA1"),  # too few digits
    ("ref 123456", "ref [number]"),  # six digits: the least taken
    ("ref 12345", "ref 12345"),
])
def test_long_digit_runs(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


@pytest.mark.parametrize("url", [
    "https://shop.example.com/reset?token=abc123",
    "https://example.com/track?order=5",
    "https://user:secret@example.com/files",
    "https://example.com/callback#access_token=xyz",
    "https://example.com/orders/9f8e7d6c5b4a39281706/track",
    "https://example.com/a/550e8400-e29b-41d4-a716-446655440000",
    "https://example.com/invoice/20261102123",
    "https://example.com/s/eyJhbGciOiJIUzI1NiJ9abcdefghij",
    "http://[::1:bad",
])
def test_links_that_carry_something_private(url: str) -> None:
    assert private_link(url)
    assert scrub(f"this link {url} does not work") == "this link [link] does not work"


@pytest.mark.parametrize("url", [
    "https://example.com/help/returns",
    "https://example.com/articles/en/reset-password",
    "https://en.wikipedia.org/wiki/Foo_(bar)",
    "https://example.com/help/windows10-install-guide",
])
def test_plain_links_are_kept(url: str) -> None:
    assert not private_link(url)
    assert scrub(f"is {url} right?") == f"is {url} right?"


def test_a_link_keeps_the_punctuation_after_it() -> None:
    assert scrub("open https://x.example.com/r?t=1.") == "open [link]."
    assert scrub("(see https://x.example.com/r?t=1)") == "(see [link])"


def test_everything_at_once_in_the_order_found() -> None:
    text = "I'm jo@example.com, +1 415 555 2671, card 4111 1111 1111 1111, https://e.com/r?k=1"
    assert scrub(text) == "I'm [email], [phone], card [number], [link]"
    assert personal_data(text) == ["https://e.com/r?k=1", "jo@example.com", "+1 415 555 2671", "4111 1111 1111 1111"]


def test_regions_decide_national_numbers_only() -> None:
    assert scrub("0532 123 45 67", regions=(None,)) == "[number]"  # still gone, named less precisely
    assert scrub("+90 532 123 45 67", regions=(None,)) == "[phone]"


@pytest.mark.parametrize("text", ["", "   ", "🙂", "٠", "١٢٣", "@@@", "http://", "a" * 5000, "1" * 5000, "+" * 200, "\u200f\u202e"])
def test_odd_input_does_not_crash(text: str) -> None:
    assert isinstance(scrub(text), str)
    assert isinstance(personal_data(text), list)


def test_nothing_left_once_placeholders_are_gone() -> None:
    assert nothing_left(scrub("john@example.com"))
    assert nothing_left("[phone] [number]?")
    assert nothing_left("")
    assert not nothing_left("[email] password reset")
    assert not nothing_left("şifre")
