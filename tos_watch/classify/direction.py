"""Direction of a change in one category, seen from the user: broadens, narrows or neutral.

The direction compares what the old and new clause *say*, not which words
appear: each text gets a latitude score per category (how much room the
service takes: durations, licence qualifiers, recipients, missing safeguards),
and the direction is the sign of new minus old. Retention compares parsed
durations first ("60 days" < "2 years" < "as long as necessary" <
"indefinitely"), because counting words cannot order them.
"""

from __future__ import annotations

import math
import re

from tos_watch.classify.cosmetic import plain
from tos_watch.classify.gates import Gates, gates, lowered_regex, passes, word_prefixes


def _compile(regex: str) -> re.Pattern[str]:
    """Patterns here match lower-cased text case-sensitively: several times faster than IGNORECASE."""
    return re.compile(lowered_regex(regex))

BROADENS, NARROWS, NEUTRAL = "broadens", "narrows", "neutral"
_NEG = r"(?:not|never|no|n't|nor|neither|without|cannot|won't|disabled?|turned\s+off)"

_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "business day": 1, "week": 7, "month": 30, "year": 365}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "fifteen": 15, "eighteen": 18,
                 "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90, "a": 1, "an": 1}
_DURATION = _compile(r"\b(\d+|" + "|".join(_NUMBER_WORDS) + r")(?:\s*\(\d+\))?[\s-]*(hour|business day|day|week"
                       r"|month|year)s?\b")
_UNBOUNDED = _compile(r"\b(?:indefinitely|permanently|forever|in\s+perpetuity|no\s+(?:fixed|set|specific)\s+"
                        r"(?:period|time)|cannot\s+be\s+(?:deleted|erased|removed)|immutabl\w+)\b")
_AS_NEEDED = _compile(r"\bas\s+long\s+as\s+(?:(?:is|it\s+is|we\s+deem|reasonably)\s+)?(?:necessary|needed|"
                        r"required|we\s+(?:need|have)|appropriate|permitted)|\bfor\s+as\s+long\s+as\b(?!\s+you\s+"
                        r"(?:wish|want|choose|like|remain|continue|stay))"
                        r"|\blonger\s+period|\bmay\s+(?:keep|retain|store)\b")

# Per category: (pattern, +1 broadens / -1 narrows). A pattern preceded by a negation flips sign.
_SIGNALS: dict[str, tuple[tuple[str, int], ...]] = {
    "licensing": (
        (r"\bperpetual\b", 1), (r"\birrevocable\b", 1), (r"\bsub-?licens\w*", 1), (r"\btransferable\b", 1),
        (r"\broyalty[\s-]*free\b", 1), (r"\bworld-?wide\b", 1), (r"\bfully[\s-]paid\b", 1),
        (r"\bfor\s+any\s+purpose\b", 1), (r"\bcommercial\w*\b", 1), (r"\bmoral\s+rights\b", 1),
        (r"\b(?:grant|grants|license|licence)\b", 1), (r"\b(?:our|exclusive)\s+property\b", 1),
        (r"\bimprov\w+|\bdevelop\w*\s+new\b", 1),
        (r"\bfor\s+the\s+(?:limited\s+|sole\s+)?purpose\s+of\s+(?:operating|providing)", -1),
        (r"\bsolely\s+(?:to|for)\b", -1), (r"\brevocable\b", -1),
        (r"\byou\s+(?:retain|keep|own|maintain)\b", -1), (r"\bends?\s+when\b|\bterminates?\s+when\b", -1),
    ),
    "access": (
        (r"\bthird[\s-]+part(?:y|ies)\b", 1), (r"\baffiliates?\b", 1), (r"\bcontractors?\b", 1),
        (r"\b(?:service|data)\s+providers?\b|\bvendors?\b|\bsub-?processors?\b", 1), (r"\bpartners?\b", 1),
        (r"\badvertis\w+\b", 1), (r"\bdata\s+brokers?\b", 1), (r"\blaw\s+enforcement\b|\bpolice\b", 1),
        (r"\bgovernment\w*\b|\bauthorities\b", 1), (r"\bbuyers?\b|\bacquir\w+|\bmerger\b|\bsuccessors?\b", 1),
        (r"\bemployees\b|\bstaff\b|\bpersonnel\b|\bhuman\s+reviewers?\b|\bmoderators?\b", 1),
        (r"\bemployers?\b|\bregistr(?:ar|y|ies)\b|\bpublic(?:ly)?\b|\bother\s+(?:users|members|apps)\b", 1),
        (r"\b(?:sell|sells|sold|rent)\b", 1), (r"\bupon\s+request\b|\bat\s+our\s+discretion\b", 1),
        (r"\bshar(?:e|es|ed|ing)\b", 1), (r"\bdisclos\w+\b", 1), (r"\baccess\b", 1),
        (r"\bvalid\s+(?:subpoena|court\s+order|warrant|legal\s+process)|\bcourt\s+order\b|\bwarrant\b", -1),
        (r"\bonly\b|\bsolely\b|\bstrictly\b", -1), (r"\bwith\s+your\s+(?:\w+\s+)?consent\b", -1),
        (r"\b(?:we\s+will|we'll)\s+notify\s+you\b", -1), (r"\bconfidential\w*\b", -1),
        (r"\blimited\s+use\b|\blimited\s+to\b", -1), (r"\bredact\w*\b|\baggregated?\b|\banonymi\w+", -1),
    ),
    "biometrics": (
        (r"\bbiometric\w*\b", 1), (r"\bfac(?:e|ial)\s+(?:recognition|geometry|scan|template|match\w*)\b", 1),
        (r"\bvoice\s*prints?\b|\bfingerprints?\b|\bselfie\b", 1), (r"\bwith\s+your\s+(?:\w+\s+)?consent\b", -1),
        (r"\bmanual\s+review\b|\bhuman\s+review\b|\bopt[\s-]*out\b", -1), (r"\bdelet\w+|\bredact\w*", -1),
    ),
    "ai_training": (
        (r"\btrain\w*\b", 1), (r"\bmachine[\s-]+learning\b|\bartificial\s+intelligence\b|\bmodels?\b", 1),
        (r"\bimprove\b|\bdevelop\b", 1), (r"\bannotat\w+\b", 1), (r"\bopt[\s-]*out\b", -1),
    ),
    "user_rights": (
        (r"\bright\s+to\b", -1), (r"\bopt[\s-]*(?:out|in)\b", -1), (r"\bwithdraw\b", -1),
        (r"\b(?:you\s+(?:can|may))\s+(?:\w+\s+){0,2}(?:request|delete|access|correct|object|export)\b", -1),
        (r"\bunsubscribe\b|\bmanual\s+review\b|\bsettings?\b", -1),
        (r"\bcannot\s+be\s+(?:deleted|erased|removed)\b", 1),
    ),
    "changes": (
        (r"\bat\s+any\s+time\b|\bsole\s+discretion\b|\bwithout\s+(?:prior\s+)?notice\b", 1),
        (r"\bcontinu\w+\s+(?:to\s+)?use\b", 1), (r"\bnotify\s+you\b|\bnotice\b|\bemail\b", -1),
        (r"\b\d+\s+days?\b", -1),
    ),
    "disputes": (
        (r"\barbitrat\w+\b", 1), (r"\bclass[\s-]+action\b", 1), (r"\bnot\s+(?:be\s+)?liable\b", 1),
        (r"\bindemnif\w+\b|\bhold\s+harmless\b", 1), (r"\bdisclaim\w*\b|\bas\s+is\b", 1),
        (r"\binjunctive\b|\bsurviv\w+", 1), (r"\bopt[\s-]*out\b|\bsmall\s+claims\b", -1),
    ),
}
Signal = tuple[re.Pattern[str], int, Gates]  # pattern, +1 broadens / -1 narrows, its gates
_COMPILED = {c: tuple((_compile(p), s, gates(p)) for p, s in sig) for c, sig in _SIGNALS.items()}
_NEG_BEFORE = _compile(rf"\b{_NEG}\b(?:\s+\w+){{0,4}}\s*$")


def _split_hits(text: str, signals: tuple[Signal, ...]) -> tuple[float, float]:
    """Broadening and narrowing cue counts of a lower-cased text, negation-aware ("will not share" narrows)."""
    pos = neg = 0.0
    prefixes = word_prefixes(text)
    for pattern, sign, words in signals:
        if not passes(words, prefixes):
            continue
        m = pattern.search(text)  # a cue counts once per text: repetition is not more latitude
        if m:
            negated = bool(_NEG_BEFORE.search(text[max(0, m.start() - 48):m.start()]))
            if (-sign if negated else sign) > 0:
                pos += 1
            else:
                neg += 1
    return pos, neg


def _signed_hits(text: str, category: str) -> float:
    """Latitude of a text in one category: broadening cues minus narrowing ones."""
    pos, neg = _split_hits(text, _COMPILED.get(category, ()))
    return pos - neg


def duration_days(text: str) -> float | None:
    """Longest retention period a text states, in days; inf when unbounded or 'as long as necessary'."""
    text = text.lower()
    if _UNBOUNDED.search(text):
        return math.inf
    spans = [float(_NUMBER_WORDS.get(m.group(1).lower(), 0) or m.group(1)) * _UNIT_DAYS[m.group(2).lower()]
             for m in _DURATION.finditer(text)]
    if _AS_NEEDED.search(text):
        return 1e6 if not spans else max(max(spans), 1e6)
    return max(spans) if spans else None


def _sign(delta: float) -> str:
    return BROADENS if delta > 0 else NARROWS if delta < 0 else NEUTRAL


def direction(category: str, old: str, new: str) -> str:
    """How the change from old to new clause text moves the service's latitude in `category`."""
    return plain_direction(category, plain(old).lower(), plain(new).lower())


def plain_direction(category: str, old: str, new: str) -> str:
    """`direction` of clauses already plain (`cosmetic.plain`) and lower-cased."""
    if category == "retention":
        before, after = duration_days(old), duration_days(new)
        if before is not None and after is not None and before != after:
            return _sign(after - before)
        delta = _signed_retention(new) - _signed_retention(old)
    else:
        delta = _signed_hits(new, category) - _signed_hits(old, category)
    if not new and category != "user_rights":
        return _removed(category, old)
    if delta == 0 and not old:
        # A clause added with no net cue: adding one in a protective category
        # (a right) narrows, elsewhere a new clause gives the service room.
        return NARROWS if category == "user_rights" else BROADENS
    return _sign(delta)


def _removed(category: str, old: str) -> str:
    """A removed clause: losing any safeguard it stated broadens; losing pure latitude narrows.

    Why: a removed clause rarely takes back only what it gave; if it held a
    limit ("solely", "with your consent", "we delete immediately"), the user
    loses that protection, as when an opt-out goes.
    """
    signals = _RET_COMPILED if category == "retention" else _COMPILED.get(category, ())
    pos, neg = _split_hits(old, signals)
    if category == "retention" and (duration_days(old) or 0) >= 1e6:
        pos += 1
    return BROADENS if neg > 0 or pos == 0 else NARROWS


_RET_SIGNALS = ((r"\b(?:retain\w*|keep|kept|stor\w+|remain\w*|backups?|archiv\w+|hold)\b", 1),
                (r"\bafter\s+(?:you\s+)?(?:clos|delet|terminat|cancel)\w*", 1),
                (r"\b(?:delet\w+|eras\w+|purg\w+|destroy\w*|redact\w*|anonymi\w+)\b", -1),
                (r"\b(?:immediately|promptly|no\s+longer\s+than|only\s+(?:for\s+)?as\s+long)\b", -1))
# The user decides how long ("for as long as you wish to receive alerts"): a bound the user controls,
# which outweighs the keeping word it comes with.
_USER_BOUNDED = _compile(r"\bas\s+long\s+as\s+you\s+(?:wish|want|choose|like|remain|continue|stay)\b")
_RET_COMPILED = tuple((_compile(p), s, gates(p)) for p, s in _RET_SIGNALS)


def _signed_retention(text: str) -> float:
    """Retention latitude when no duration decides: keeping words minus deleting words, negation-aware."""
    pos, neg = _split_hits(text, _RET_COMPILED)
    total = pos - neg - (2 if _USER_BOUNDED.search(text) else 0)
    days = duration_days(text)
    if days is not None and days >= 1e6:
        total += 2
    return total
