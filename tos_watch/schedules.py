"""Schedule phrases -> trigger specs. Pure: no APScheduler here, so config can validate at load.

Accepted phrases (case-insensitive):

    every 6h | every 30m | every 90s | every 1h30m | every 2 days
    hourly | daily | daily at 08:00 | weekly | weekly on monday at 08:00
    a five-field cron string: "0 8 * * 1-5"  (minute hour day month day-of-week, 0/7 = Sunday)

and durations for jitter: "10m", "30s", "1h", "0".

The spec is what scheduler.py turns into an APScheduler trigger. Cron day-of-week
numbers are translated to names because APScheduler 3 counts Monday as 0 while cron
counts Sunday as 0: "0 8 * * 1" must mean Monday, as it does in crontab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
          "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {d: d for d in _DAYS} | {"monday": "mon", "tuesday": "tue", "wednesday": "wed",
                                      "thursday": "thu", "friday": "fri", "saturday": "sat", "sunday": "sun"}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("day_of_week", 0, 7))
_CRON_TOKEN = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")
_AT = re.compile(r"^(\d{1,2}):(\d{2})$")

EXAMPLES = '"every 6h", "daily at 08:00", "weekly on monday at 08:00" or a cron string like "0 8 * * *"'


class ScheduleError(ValueError):
    """A schedule phrase or duration that cannot be understood; the message says what would be."""


@dataclass(frozen=True)
class TriggerSpec:
    """A parsed schedule: an interval in seconds, or cron fields (APScheduler's names and numbering)."""

    kind: str  # "interval" or "cron"
    seconds: float = 0.0
    cron: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def describe(self) -> str:
        return self.text


def parse_duration(text: str) -> float:
    """Seconds in "10m", "1h30m", "2 days", "45s" or "0". Raises ScheduleError."""
    s = text.strip().lower()
    if s in ("0", "none", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(s):
        if s[pos:match.start()].strip():
            break
        unit = match.group(2)
        if unit not in _UNITS:
            raise ScheduleError(f'unknown time unit "{unit}" in "{text}"; use s, m, h, d or w (e.g. "10m")')
        total += float(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos == 0 or s[pos:].strip():
        raise ScheduleError(f'cannot read "{text}" as a duration; write e.g. "10m", "6h" or "1h30m"')
    return total


def parse_schedule(text: str) -> TriggerSpec:
    """A schedule phrase -> TriggerSpec. Raises ScheduleError naming what is accepted."""
    s = " ".join(text.strip().lower().split())
    if s.startswith("every "):
        try:
            seconds = parse_duration(s[6:])
        except ScheduleError as exc:
            raise ScheduleError(f'unknown schedule "{text}": {exc}') from None
        if seconds < 1:
            raise ScheduleError(f'"{text}": the interval must be at least one second')
        return TriggerSpec("interval", seconds=seconds, text=text)
    if s == "hourly":
        return TriggerSpec("cron", cron={"minute": "0"}, text=text)
    if s.startswith(("daily", "weekly")):
        return TriggerSpec("cron", cron=_calendar(s, text), text=text)
    if len(s.split(" ")) == 5:
        return TriggerSpec("cron", cron=_crontab(s, text), text=text)
    raise ScheduleError(f'unknown schedule "{text}"; write {EXAMPLES}')


def _calendar(s: str, text: str) -> dict[str, str]:
    """"daily [at HH:MM]" or "weekly [on DAY] [at HH:MM]" -> cron fields."""
    m = re.fullmatch(r"(daily|weekly)(?: on ([a-z]+))?(?: at (\S+))?", s)
    if not m or (m.group(1) == "daily" and m.group(2)):
        raise ScheduleError(f'unknown schedule "{text}"; write {EXAMPLES}')
    hour, minute = _clock(m.group(3) or "00:00", text)
    fields = {"hour": str(hour), "minute": str(minute)}
    if m.group(1) == "weekly":
        day = m.group(2) or "monday"
        if day not in _DAY_NAMES:
            raise ScheduleError(f'"{text}": unknown weekday "{day}"; write e.g. "weekly on monday at 08:00"')
        fields["day_of_week"] = _DAY_NAMES[day]
    return fields


def _clock(at: str, text: str) -> tuple[int, int]:
    m = _AT.match(at)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f'"{text}": time "{at}" is not a 24-hour HH:MM time such as 08:00')
    return int(m.group(1)), int(m.group(2))


def _crontab(s: str, text: str) -> dict[str, str]:
    """Validate a five-field cron string and rename its fields for APScheduler."""
    fields: dict[str, str] = {}
    for value, (name, low, high) in zip(s.split(" "), _CRON_FIELDS):
        tokens = [_cron_token(tok, name, low, high, text) for tok in value.split(",")]
        fields[name] = ",".join(tokens)
    return fields


def _cron_token(tok: str, name: str, low: int, high: int, text: str) -> str:
    m = _CRON_TOKEN.match(tok)
    if not m:
        raise ScheduleError(f'cron string "{text}": cannot read "{tok}" in the {name.replace("_", "-")} field')
    base, step = m.group(1), m.group(2)
    if step is not None and int(step) < 1:
        raise ScheduleError(f'cron string "{text}": step must be at least 1 in "{tok}"')
    if base != "*":
        parts = [_cron_value(v, name, low, high, text) for v in base.split("-")]
        if name == "day_of_week" and len(parts) == 2 and _DAYS.index(parts[0]) > _DAYS.index(parts[1]):
            if step:  # "0-6/2" style wraps are rare; refuse rather than guess
                raise ScheduleError(f'cron string "{text}": write "{tok}" with day names, e.g. "mon-fri"')
            return f"{parts[0]}-sun,mon-{parts[1]}" if parts[1] != "mon" else f"{parts[0]}-sun,mon"
        base = "-".join(parts)
    return base + (f"/{step}" if step else "")


def _cron_value(v: str, name: str, low: int, high: int, text: str) -> str:
    if name == "day_of_week":
        if v in _DAY_NAMES:
            return _DAY_NAMES[v]
        if v.isdigit() and int(v) <= 7:
            return _DAYS[(int(v) + 6) % 7]  # cron: 0 and 7 are Sunday
    elif name == "month" and v in _MONTHS:
        return str(_MONTHS.index(v) + 1)
    elif v.isdigit() and low <= int(v) <= high:
        return str(int(v))
    raise ScheduleError(f'cron string "{text}": "{v}" is out of range for the {name.replace("_", "-")} '
                        f"field ({low}-{high})")
