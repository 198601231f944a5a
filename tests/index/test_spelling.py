"""Customers' typing put right: missing diacritics, one-letter slips; names left alone."""

from index.spelling import Speller, kb_words


def test_missing_turkish_letters_come_back() -> None:
    # "misiniz" is a word too (after front vowels): only vowel harmony would tell, so it stays.
    assert Speller([]).correct("cumartesi acik misiniz", "tr") == "cumartesi açık misiniz"
    assert Speller([]).correct("sifremi unuttum", "tr") == "şifremi unuttum"


def test_a_typo_is_corrected_towards_the_kbs_own_words() -> None:
    speller = Speller(kb_words(["Resetting your Answerdesk password"]))
    assert speller.correct("forgot my pasword", "en") == "forgot my password"
    assert speller.correct("answerdesl login", "en") == "answerdesk login"


def test_common_words_and_unknown_names_are_left_as_typed() -> None:
    speller = Speller([])
    assert speller.correct("Where is my Zalando order XJ42?", "en") == "Where is my Zalando order XJ42?"
    assert speller.correct("¿Dónde está mi pedido?", "es") == "¿Dónde está mi pedido?"


def test_german_without_umlauts_and_spanish_typos() -> None:
    speller = Speller([])
    assert speller.correct("wann haben sie geoffnet", "de") == "wann haben sie geöffnet"
    assert speller.correct("quiero habblar con una persona", "es") == "quiero hablar con una persona"


def test_scripts_without_spaces_and_unknown_languages_are_left_alone() -> None:
    speller = Speller(["password"])
    assert speller.correct("明日の天気はどうですか", "ja") == "明日の天気はどうですか"
    assert speller.correct("pasword", "xx") == "password"  # no word list for "xx": the KB's words still count


def test_inflected_forms_beyond_the_word_list_are_left_alone() -> None:
    # "puanlarım" (my scores) is in no list, but it is "puanları" + "m": not a typo of "planlarım".
    speller = Speller(kb_words(["Temsilci puanları", "temsilcisine"]))
    assert speller.correct("müşteri temsilcisini nasıl puanlarım", "tr") == "müşteri temsilcisini nasıl puanlarım"
    assert speller.correct("how do I chnage my pasword", "en") == "how do I change my password"
