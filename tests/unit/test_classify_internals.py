"""The classifier's speed devices and direction rules: gates that must never hide a match, the shipped
count file, and the removed-clause and user-bounded retention rules."""

from __future__ import annotations

import pytest

from tos_watch.classify.categories import categorize_with_evidence
from tos_watch.classify.direction import BROADENS, NARROWS, direction
from tos_watch.classify.gates import gates, word_prefixes
from tos_watch.classify.lexicon import CUES
from tos_watch.classify.model import count_features, from_counts, shipped_model, train

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
