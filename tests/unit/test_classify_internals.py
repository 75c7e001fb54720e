"""The classifier's speed devices and direction rules: gates and needles that must never hide a match,
the shortcuts of a comparison that must give what the slow way gave, the shipped count file, and the
removed-clause and user-bounded retention rules."""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tos_watch.classify import cosmetic
from tos_watch.classify.align import _Bag
from tos_watch.classify.assess import assess
from tos_watch.classify.categories import categorize_with_evidence
from tos_watch.classify.direction import BROADENS, NARROWS, direction
from tos_watch.classify.gates import contains_any, gates, has_case_twin, lowered_regex, needles, word_prefixes
from tos_watch.classify.lexicon import CUES
from tos_watch.classify.model import count_features, from_counts, shipped_model, train
from tos_watch.compare import word_counts

TEXTS = [
    "You grant us a worldwide, non-exclusive, royalty-free, sub-licensable licence to your User Content.",
    "We may share your personal information with third-party service providers and law enforcement.",
    "We retain your data for as long as necessary, and backups are deleted within 90 days.",
    "Any dispute will be resolved by binding arbitration; class actions are waived.",
    "UniFi Identity may access your Google Workspace account through the Google APIs.",
    "You can log in with a passkey, using biometric data like Face ID to unlock your device.",
    "We don't sell your data. Data is hosted on AWS. You have the option to opt out at any time.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_gates_never_hide_a_match(text: str) -> None:
    prefixes, low = word_prefixes(text), text.lower()
    for cues in CUES.values():
        for cue in cues:
            fast, slow = cue.search(prefixes, text, low), cue.pattern.search(text)
            assert (fast and fast.span()) == (slow and slow.span()), cue.pattern.pattern


@pytest.mark.parametrize(("regex", "expected"), [
    (r"\b(?:licen[cs]e|right)s?\b", (frozenset({"licen", "right"}),)),
    (r"\bmoral\s+rights\b", (frozenset({"moral"}), frozenset({"rights"}))),  # a word after required space
    (r"\bgrants?\b.{0,60}\blicen[cs]e", (frozenset({"grant"}), frozenset({"licen"}))),
    (r"\b(?:we|[A-Z]\w+)\s+may", (frozenset({"may"}),)),  # a class first: only "may" is required
    (r"\b[A-Z]\w+", ()),  # no literal at all: no precondition
    (r"(?:personal\s+)?data", ()),  # optional first element
])
def test_gates(regex: str, expected: tuple[frozenset[str], ...]) -> None:
    assert gates(regex) == expected


def test_shipped_model_loads_from_package_data() -> None:
    model = shipped_model()
    assert {"none", "licensing", "access", "retention"} <= set(model.priors)
    assert shipped_model() is model  # loaded once


def test_count_file_round_trip_matches_training() -> None:
    texts = ["we share data with partners", "we keep data for two years", "we share logs with partners"]
    labels = ["access", "retention", "access"]
    direct = train(texts, labels, min_count=1)
    packed = from_counts(count_features(texts, labels, min_count=1))
    assert packed == direct


def test_device_biometrics_are_vetoed() -> None:
    assert "biometrics" not in categorize_with_evidence(TEXTS[5])
    assert "biometrics" in categorize_with_evidence("We collect facial geometry to verify your identity.")


def test_removed_safeguard_broadens_removed_latitude_narrows() -> None:
    safeguard = "We share identity documents with our vendor solely to verify you, with your explicit consent."
    latitude = "We may disclose your identity to law enforcement and government agencies."
    assert direction("access", safeguard, "") == BROADENS
    assert direction("access", latitude, "") == NARROWS


def test_user_bounded_retention_narrows() -> None:
    old = "We keep your contact details."
    new = "We keep your contact details for as long as you wish to receive alerts."
    assert direction("retention", "", new) == NARROWS
    assert direction("retention", old, new) == NARROWS


def test_negated_training_narrows() -> None:
    assert direction("ai_training", "", "Your data is not used to train AI models.") == NARROWS


# --- the speed devices of a comparison: each must give exactly what the slower way gave ---------

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
BANNERS = ["We're updating our Privacy Policy.", "Click here to learn more.", "Back to top", "Table of Contents",
           "See our cookie page for details.", "Updates to our Terms take effect on May 1.", "Print this page"]


@pytest.mark.parametrize(("regex", "expected"), [
    (r"\bperpetual\b", {"perpetual"}),
    (r"\b(?:upcoming|coming)\s+(?:changes|update)", {"upcoming", "coming"}),  # every branch brings one
    (r"(?:personal\s+)?data", {"data"}),  # an optional part requires nothing
    (r"ab|c\d", {"ab", "c"}),
    (r"x?[a-z]+", None),  # no literal is required
    (r"(?i)abc", None),  # other cases would match: a substring test is not exact
])
def test_needles(regex: str, expected: set[str] | None) -> None:
    assert needles(re.compile(regex)) == (frozenset(expected) if expected is not None else None)


@pytest.mark.parametrize("text", TEXTS + BANNERS)
def test_needles_never_hide_a_match(text: str) -> None:
    low = text.lower()
    cue_patterns = [cue.lower for cues in CUES.values() for cue in cues if cue.lower]
    patterns = [cosmetic._BANNER_LOW, cosmetic._SEE_ALSO_LOW, *cue_patterns]
    for pattern in patterns:
        if pattern.search(low):
            assert contains_any(low, needles(pattern)), pattern.pattern


@pytest.mark.parametrize("text", TEXTS + BANNERS)
def test_banner_test_finds_what_the_single_pattern_found(text: str) -> None:
    single = re.compile(f"{cosmetic._BANNER_LOW.pattern}|{cosmetic._SEE_ALSO_LOW.pattern}")
    assert cosmetic._is_banner(text.lower()) == bool(single.search(text.lower()))


KEY_TEXTS = ["See SECTION 4.2(a) of the Terms, updated March 3, 2024.", "Article IV: Visit WWW.Example.com/Privacy",
             "1.2. (b) Write to Privacy@Example.COM (opens in a new window)", "Effective 2024-01-02 and 3/4/2021"]


@pytest.mark.parametrize("text", TEXTS + KEY_TEXTS)
def test_lowered_twins_of_key_patterns_match_like_ignorecase(text: str) -> None:
    assert not has_case_twin(text) and len(text.lower()) == len(text)
    for pattern in cosmetic._KEY_PATTERNS:
        twin = re.compile(lowered_regex(pattern.pattern))
        assert [m.span() for m in twin.finditer(text.lower())] == [m.span() for m in pattern.finditer(text)]


def test_key_of_a_text_with_a_case_twin_keeps_ignorecase_matching() -> None:
    # IGNORECASE reads the dotless ı as an i, so "sectıon 4" is a cross-reference and its number goes.
    assert has_case_twin("See sectıon 4 here")
    assert cosmetic.key("See sectıon 4 here") == "see sect on here"
    assert cosmetic.key("See SECTİON 4 for details") == "see secti on for details"


@pytest.mark.parametrize(("old", "new"), [("we share data", "we share your data with partners"), ("", ""),
                                          ("a a b", "a b b c"), ("x", ""), ("the the the", "the")])
def test_bag_bounds_are_difflibs(old: str, new: str) -> None:
    matcher = difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False)
    assert _Bag(old).real_quick_ratio(_Bag(new)) == matcher.real_quick_ratio()
    assert _Bag(old).quick_ratio(_Bag(new)) == matcher.quick_ratio()


def test_memoised_verdicts_are_copied_not_shared() -> None:
    old = "We keep your data for 30 days."
    new = "We keep your data indefinitely and share it with third parties and law enforcement."
    expected = assess(old, new).to_json()
    for change in assess(old, new).changes:  # a caller that edits its result
        for evidence in change.evidence.values():
            evidence.append("edited")
        change.categories.clear()
    assert assess(old, new).to_json() == expected


def _all_words_counts(old: str, new: str) -> tuple[int, int]:
    before, after = Counter(old.split()), Counter(new.split())
    return sum((after - before).values()), sum((before - after).values())


@pytest.mark.parametrize(("old", "new"), [
    ("a b\nc d\n", "a b\nc e\n"), ("a\nb c", "a b\nc"),  # a word moved across a line break counts zero
    ("x\n\nx\n\ny", "x\n\ny\n\ny"), ("one\r\ntwo\u2028three", "one\ntwo three\x0c"), ("", "new words"),
    ("same", "same"),
])
def test_word_counts_from_unshared_lines(old: str, new: str) -> None:
    assert word_counts(old, new) == _all_words_counts(old, new)


@pytest.mark.skipif(not (CORPUS / "manifest.json").is_file(), reason=f"shared corpus not found at {CORPUS}")
def test_word_counts_from_unshared_lines_on_real_versions() -> None:
    """Every consecutive pair of every corpus document: the same counts as splitting both texts whole."""
    manifest = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    pairs = 0
    for entry in manifest:
        texts = [(CORPUS / entry["service"] / entry["document"] / v["file"]).read_text("utf-8")
                 for v in entry["versions"]]
        for old, new in itertools.pairwise(texts):
            assert word_counts(old, new) == _all_words_counts(old, new)
            pairs += 1
    assert pairs > 600
