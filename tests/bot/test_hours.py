from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.desk.hours import END_OF_DAY, BusinessHours, describe_next_open, hours_languages, parse_hours
from bot.answer.phrases import phrase

IST = ZoneInfo("Europe/Istanbul")  # UTC+3 all year, no abbreviation in the tz data
BERLIN = ZoneInfo("Europe/Berlin")
WEEK = "mon-fri 09:00-18:00; sat 10:00-14:00"


def ist(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=IST)


@pytest.fixture
def hours() -> BusinessHours:
    return parse_hours(WEEK, "Europe/Istanbul", "2026-03-09")  # 2026-03-02 and -09 are Mondays


# -- parsing


def test_parse_builds_the_weekly_schedule() -> None:
    h = parse_hours("Mon-Fri 09:00-18:00; sat 10:00 - 14:00", " Europe/Istanbul ", " 2026-12-25, 2027-01-01 ,")
    assert h.tz == "Europe/Istanbul"
    assert h.weekly == {d: ((time(9), time(18)),) for d in range(5)} | {5: ((time(10), time(14)),)}
    assert h.holidays == frozenset({date(2026, 12, 25), date(2027, 1, 1)})


def test_lists_wrapping_ranges_several_intervals_and_midnight() -> None:
    h = parse_hours("mon,wed 13:00-18:00,09:00-12:00; fri-sun 20:00-24:00; wed 11:00-14:00", "UTC", "")
    assert h.weekly[0] == ((time(9), time(12)), (time(13), time(18)))
    assert h.weekly[2] == ((time(9), time(18)),)  # overlapping intervals are joined
    assert {d: h.weekly[d] for d in (4, 5, 6)} == {d: ((time(20), END_OF_DAY),) for d in (4, 5, 6)}
    assert 1 not in h.weekly and 3 not in h.weekly


def test_24_7_is_always_open() -> None:
    h = parse_hours("24/7", "UTC", "")
    for hour in (0, 6, 12, 23):
        moment = datetime(2026, 3, 8, hour, 59, 59, 999999, tzinfo=timezone.utc)
        assert h.is_open(moment) and h.next_open(moment) == moment


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mon-fry 09:00-18:00", "'fry' is not a day; days are mon tue wed thu fri sat sun"),
        ("mon 9-18", "'9' in '9-18' is not a time; write HH:MM"),
        ("mon 18:00-09:00", "ends before it starts; split a night shift at midnight"),
        ("mon 09:00-25:00", "'25:00' in '09:00-25:00' is not a time of day"),
        ("mon 24:00-24:00", "starts at 24:00"),
        ("09:00-18:00", "needs days then times"),
        ("mon-fri", "needs days then times"),
        ("mon-wed-fri 09:00-18:00", "'mon-wed-fri' is not a day range"),
        ("mon 09:00", "'09:00' is not an interval"),
        ("  ", "No opening hours given"),
        ("24/7; sat 10:00-14:00", "'24/7' already means always open"),
    ],
)
def test_a_bad_spec_names_the_setting_the_part_and_an_example(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_hours(spec, "UTC", "")
    text = str(caught.value)
    assert caught.value.name == "ANSWERDESK_HOURS"
    assert message in text
    assert "e.g. 'mon-fri 09:00-18:00; sat 10:00-14:00'" in text


def test_a_bad_time_zone_or_holiday_names_its_setting() -> None:
    with pytest.raises(ConfigError, match=r"'ANSWERDESK_TIMEZONE' has value 'Europe/Istambul'.*e\.g\. 'Europe/Istanbul'"):
        parse_hours(WEEK, "Europe/Istambul", "")
    for bad in ("2026-13-01", "25.12.2026", "20261225"):
        with pytest.raises(ConfigError, match=rf"'ANSWERDESK_HOLIDAYS'.*'{bad}' is not a date.*e\.g\. '2026-12-25,2027-01-01'"):
            parse_hours(WEEK, "UTC", f"2026-12-24,{bad}")


# -- open or closed


def test_open_and_closed_around_the_boundaries(hours: BusinessHours) -> None:
    assert not hours.is_open(ist(2026, 3, 2, 8, 59, 59))
    assert hours.is_open(ist(2026, 3, 2, 9))
    assert hours.is_open(ist(2026, 3, 2, 17, 59, 59))
    assert not hours.is_open(ist(2026, 3, 2, 18))
    assert hours.is_open(ist(2026, 3, 7, 13, 30)) and not hours.is_open(ist(2026, 3, 7, 14))  # Saturday
    assert not hours.is_open(ist(2026, 3, 8, 12))  # Sunday


def test_is_open_reads_the_local_time_whatever_zone_is_given(hours: BusinessHours) -> None:
    assert hours.is_open(datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc))  # 09:00 in Istanbul
    assert not hours.is_open(datetime(2026, 3, 2, 5, 59, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="timezone-aware"):
        hours.is_open(datetime(2026, 3, 2, 10))


def test_an_interval_ending_at_24_00_includes_the_last_moment() -> None:
    h = parse_hours("mon 09:00-12:00,13:00-24:00", "UTC", "")
    monday = datetime(2026, 3, 2, tzinfo=timezone.utc)
    assert not h.is_open(monday.replace(hour=12, minute=30))
    assert h.is_open(monday.replace(hour=23, minute=59, second=59, microsecond=999999))
    assert not h.is_open(monday + timedelta(days=1))


def test_a_holiday_is_closed_all_day(hours: BusinessHours) -> None:
    assert not hours.is_open(ist(2026, 3, 9, 12))
    assert hours.is_open(ist(2026, 3, 10, 12))


# -- the next opening


def test_next_open_is_now_later_today_or_after_the_weekend(hours: BusinessHours) -> None:
    assert hours.next_open(ist(2026, 3, 2, 10)) == ist(2026, 3, 2, 10)
    assert hours.next_open(ist(2026, 3, 3, 7, 15)) == ist(2026, 3, 3, 9)
    assert hours.next_open(ist(2026, 3, 6, 18, 30)) == ist(2026, 3, 7, 10)  # Friday evening -> Saturday
    assert hours.next_open(ist(2026, 3, 7, 14)) == ist(2026, 3, 10, 9)  # Monday 9th is a holiday
    after_weekend = parse_hours(WEEK, "Europe/Istanbul", "").next_open(ist(2026, 3, 7, 14))
    assert after_weekend == ist(2026, 3, 9, 9) and after_weekend.tzinfo == IST


def test_next_open_skips_a_run_of_holidays() -> None:
    holidays = ",".join(str(date(2026, 12, 24) + timedelta(days=n)) for n in range(9))  # Dec 24 .. Jan 1
    h = parse_hours("mon-fri 09:00-18:00", "Europe/Berlin", holidays)
    assert h.next_open(datetime(2026, 12, 23, 19, tzinfo=BERLIN)) == datetime(2027, 1, 4, 9, tzinfo=BERLIN)


def test_next_open_is_none_when_the_schedule_is_empty() -> None:
    assert BusinessHours("UTC", {}, frozenset()).next_open(datetime(2026, 3, 2, tzinfo=timezone.utc)) is None


def test_opening_stays_at_9_local_across_dst_changes() -> None:
    h = parse_hours("mon-fri 09:00-18:00", "Europe/Berlin", "")
    spring = h.next_open(datetime(2026, 3, 27, 19, tzinfo=BERLIN))  # Friday; clocks go forward on Sunday 29th
    assert spring == datetime(2026, 3, 30, 9, tzinfo=BERLIN)
    assert spring.astimezone(timezone.utc) == datetime(2026, 3, 30, 7, tzinfo=timezone.utc)
    assert not h.is_open(datetime(2026, 3, 27, 7, 30, tzinfo=timezone.utc))  # 08:30 CET
    assert h.is_open(datetime(2026, 3, 30, 7, 30, tzinfo=timezone.utc))  # 09:30 CEST
    autumn = h.next_open(datetime(2026, 10, 23, 19, tzinfo=BERLIN))  # clocks go back on Sunday 25th
    assert autumn.astimezone(timezone.utc) == datetime(2026, 10, 26, 8, tzinfo=timezone.utc)


def test_an_opening_inside_the_spring_forward_gap_is_the_jump() -> None:
    h = parse_hours("sun 02:30-04:00", "Europe/Berlin", "")  # 02:00-03:00 does not exist on 2026-03-29
    opening = h.next_open(datetime(2026, 3, 28, 12, tzinfo=timezone.utc))
    assert opening.astimezone(timezone.utc) == datetime(2026, 3, 29, 1, tzinfo=timezone.utc)  # 03:00 CEST
    just_before = opening.astimezone(timezone.utc) - timedelta(microseconds=1)  # in UTC: wall-clock arithmetic would land in the gap
    assert h.is_open(opening) and not h.is_open(just_before)
    swallowed = parse_hours("sun 02:00-02:45", "Europe/Berlin", "")
    assert swallowed.next_open(datetime(2026, 3, 28, 12, tzinfo=timezone.utc)) == datetime(2026, 4, 5, 2, tzinfo=BERLIN)


# -- in words


def test_describe_next_open_in_english(hours: BusinessHours) -> None:
    assert describe_next_open(hours, ist(2026, 3, 2, 7), "en") == "today at 09:00 (UTC+3)"
    assert describe_next_open(hours, ist(2026, 3, 3, 19), "en") == "tomorrow at 09:00 (UTC+3)"
    assert describe_next_open(hours, ist(2026, 3, 7, 15), "en") == "on Tuesday at 09:00 (UTC+3)"
    assert describe_next_open(hours, ist(2026, 3, 2, 10), "en") == "now"


DESCRIPTIONS = {
    "en": ("tomorrow at 09:00 (CET)", "on Monday at 09:00 (CET)", "on 4 January at 09:00 (CET)"),
    "ar": ("غدًا الساعة 09:00 (CET)", "يوم الاثنين الساعة 09:00 (CET)", "في 4 يناير الساعة 09:00 (CET)"),
    "tr": ("Yarın saat 09:00 (CET)", "Pazartesi saat 09:00 (CET)", "4 Ocak saat 09:00 (CET)"),
    "es": ("mañana a las 09:00 (CET)", "el lunes a las 09:00 (CET)", "el 4 de enero a las 09:00 (CET)"),
}


@pytest.mark.parametrize("lang", sorted(DESCRIPTIONS))
def test_describe_next_open_in_four_languages(lang: str) -> None:
    holidays = ",".join(str(date(2026, 12, 24) + timedelta(days=n)) for n in range(9))
    h = parse_hours("mon-fri 09:00-18:00", "Europe/Berlin", holidays)
    tomorrow, weekday, far = DESCRIPTIONS[lang]
    assert describe_next_open(h, datetime(2026, 12, 1, 19, tzinfo=BERLIN), lang) == tomorrow
    assert describe_next_open(h, datetime(2026, 12, 4, 19, tzinfo=BERLIN), lang) == weekday  # Friday
    assert describe_next_open(h, datetime(2026, 12, 23, 19, tzinfo=BERLIN), lang) == far  # 12 days on


def test_describe_uses_summer_time_abbreviations_and_spanish_one_oclock() -> None:
    h = parse_hours("mon-fri 01:00-05:00", "Europe/Berlin", "")
    monday_noon = datetime(2026, 6, 1, 12, tzinfo=BERLIN)
    assert describe_next_open(h, monday_noon, "es") == "mañana a la 01:00 (CEST)"
    assert describe_next_open(h, monday_noon, "en") == "tomorrow at 01:00 (CEST)"


def test_other_languages_fall_back_to_english_and_regions_to_their_language(hours: BusinessHours) -> None:
    at = ist(2026, 3, 3, 19)
    assert describe_next_open(hours, at, "fi") == "tomorrow at 09:00 (UTC+3)"
    assert describe_next_open(hours, at, "es-MX") == "mañana a las 09:00 (UTC+3)"
    assert {"en", "ar", "tr", "es"} <= hours_languages()


def test_the_description_fits_the_outside_hours_sentence(hours: BusinessHours) -> None:
    when = describe_next_open(hours, ist(2026, 3, 3, 19), "tr")
    assert phrase("outside_hours", "tr", when=when) == "Ekibimiz şu anda çevrimdışı. Yarın saat 09:00 (UTC+3) yeniden buradayız."
    when = describe_next_open(hours, ist(2026, 3, 3, 19), "en")
    assert phrase("outside_hours", "en", when=when) == "Our team is offline right now. We're back tomorrow at 09:00 (UTC+3)."
