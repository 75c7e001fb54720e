"""Schedule phrases -> trigger specs: table-driven, no scheduler, no sockets."""

from __future__ import annotations

import pytest

from tos_watch.config import parse_settings
from tos_watch.errors import ConfigError
from tos_watch.schedules import ScheduleError, parse_duration, parse_schedule


@pytest.mark.parametrize("text, seconds", [
    ("every 6h", 21600), ("every 30m", 1800), ("every 5s", 5), ("every 1h30m", 5400),
    ("every 2 days", 172800), ("Every 12 hours", 43200), ("every 1w", 604800),
])
def test_intervals(text: str, seconds: float) -> None:
    spec = parse_schedule(text)
    assert (spec.kind, spec.seconds) == ("interval", seconds)


@pytest.mark.parametrize("text, cron", [
    ("daily at 08:00", {"hour": "8", "minute": "0"}),
    ("daily", {"hour": "0", "minute": "0"}),
    ("hourly", {"minute": "0"}),
    ("weekly on monday at 08:00", {"hour": "8", "minute": "0", "day_of_week": "mon"}),
    ("weekly on Fri at 17:30", {"hour": "17", "minute": "30", "day_of_week": "fri"}),
    ("weekly", {"hour": "0", "minute": "0", "day_of_week": "mon"}),
])
def test_calendar_phrases(text: str, cron: dict[str, str]) -> None:
    assert parse_schedule(text).cron == cron


@pytest.mark.parametrize("text, dow", [
    ("0 8 * * 1", "mon"),  # cron's 1 is Monday; APScheduler's would be Tuesday
    ("0 8 * * 0", "sun"), ("0 8 * * 7", "sun"), ("0 8 * * 1-5", "mon-fri"),
    ("0 8 * * sat,sun", "sat,sun"), ("0 8 * * 5-1", "fri-sun,mon"), ("0 8 * * *", "*"),
])
def test_cron_day_of_week_means_what_crontab_means(text: str, dow: str) -> None:
    assert parse_schedule(text).cron["day_of_week"] == dow


def test_cron_fields() -> None:
    assert parse_schedule("*/15 9-17 1 jan,jul *").cron == {
        "minute": "*/15", "hour": "9-17", "day": "1", "month": "1,7", "day_of_week": "*"}


@pytest.mark.parametrize("text, hint", [
    ("sometimes", "unknown schedule"), ("every", "unknown schedule"), ("every 6x", 'unknown time unit "x"'),
    ("every 0s", "at least one second"), ("daily at 25:00", "24-hour"), ("weekly on funday", "unknown weekday"),
    ("61 * * * *", "out of range for the minute field"), ("0 8 * * 8", "day-of-week"),
    ("0 8 * * mon/0", "step must be at least 1"), ("daily on monday", "unknown schedule"),
])
def test_bad_schedules_say_what_is_accepted(text: str, hint: str) -> None:
    with pytest.raises(ScheduleError, match=hint):
        parse_schedule(text)


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("0", 0), ("30s", 30), ("1h 30m", 5400), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "10", "10m later", "m10"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_duration(text)


@pytest.mark.parametrize("table, message", [
    ({"schedule": {"check": "every fortnight"}}, 'schedule: unknown schedule "every fortnight"'),
    ({"schedule": {"digest": "dialy at 08:00"}}, 'schedule: unknown schedule "dialy at 08:00"'),
    ({"schedule": {"jitter": "a bit"}}, "schedule: cannot read \"a bit\""),
    ({"schedule": {"timezone": "Mars/Olympus"}}, 'unknown timezone "Mars/Olympus"'),
    ({"digest": {"retry": "soon"}}, 'digest: "retry"'),
    ({"subscribers": [{"email": "not-an-address"}]}, "must be an email address"),
    ({"subscribers": [{"email": "a@b.org", "categories": ["licencing"]}]}, 'did you mean "licensing"'),
    ({"smtp": {"port": 25}}, 'smtp: missing "host"'),
])
def test_bad_config_is_one_line(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_settings(table, source="t.toml")
    assert "\n" not in str(info.value)


def test_no_smtp_with_subscribers_is_fine() -> None:
    """Without [smtp], digests go to the outbox folder: not an error."""
    settings = parse_settings({"subscribers": [{"email": "a@b.org"}]}, source="t.toml")
    assert settings.smtp is None and settings.outbox.name == "outbox"
