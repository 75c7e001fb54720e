"""Changes judged against the document's history, on real corpus versions, and near-miss controls.

The corpus cases are labelled changes (changes-dev*.jsonl): a truncated capture
and its restoration (MediaFire, S249/S250), a page served in its other regional
variant and back (Google Nest, S181), another document captured at the same
address and back (Xfinity, S495), and a return after a real version in
between (ACDelco, S013, labelled substantive).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tos_watch.classify import assess
from tos_watch.classify.canonical import text_words
from tos_watch.classify.history import PriorVersion, judge
from tos_watch.classify.learned import RULES_ONLY

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
MEDIAFIRE = ("MediaFire", "Terms of Service")
FULL, CUT, RESTORED = "2024-06-19T18-09-44Z.md", "2024-06-22T18-09-24Z.md", "2024-06-23T06-09-32Z.md"
LICENCE = "worldwide, non-exclusive, royalty-free, sub-licensable and transferable limited license"


def text(service: str, document: str, file: str) -> str:
    path = CORPUS / service / document / file
    if not path.is_file():
        pytest.skip(f"{path} not found: the corpus in ../shared is needed")
    return path.read_text(encoding="utf-8")


def prior(service: str, document: str, file: str, version_id: int = 1) -> PriorVersion:
    at = datetime.strptime(file, "%Y-%m-%dT%H-%M-%SZ.md").replace(tzinfo=timezone.utc)
    return PriorVersion(text(service, document, file), at, version_id)


def test_a_truncated_capture_is_cosmetic_and_says_so() -> None:
    result = assess(text(*MEDIAFIRE, FULL), text(*MEDIAFIRE, CUT)).to_json()
    assert result["cosmetic"] is True and result["severity"] == "none"
    assert result["artefact"]["kind"] == "truncated"
    assert result["artefact"]["summary"].startswith("truncated capture: stops mid-sentence after 72%")
    assert "restores" not in result


def test_the_restored_full_text_is_back_to_the_version_before_the_cut() -> None:
    result = assess(text(*MEDIAFIRE, CUT), text(*MEDIAFIRE, RESTORED), history=[prior(*MEDIAFIRE, FULL, 12)]).to_json()
    assert result["cosmetic"] is True and result["categories"] == {}
    assert result["restores"] == {"version_id": 12, "recorded_at": "2024-06-19T18:09:44+00:00"}
    assert result["artefact"] == {"kind": "restoration",
                                  "summary": "back to the version of 2024-06-19, after a truncated capture"}


def test_without_history_the_restoration_is_judged_on_its_edits() -> None:
    result = assess(text(*MEDIAFIRE, CUT), text(*MEDIAFIRE, RESTORED), judge=RULES_ONLY).to_json()
    assert "restores" not in result and "artefact" not in result
    assert result["cosmetic"] is False  # to the rules, the restored sections read as new clauses


def test_a_real_clause_change_after_a_truncated_capture_is_not_a_restoration() -> None:
    full = text(*MEDIAFIRE, FULL)
    edited = full.replace(LICENCE, "worldwide, perpetual, irrevocable, royalty-free, sub-licensable and "
                                   "transferable license")
    assert edited != full
    verdict = judge(text(*MEDIAFIRE, CUT), edited, [prior(*MEDIAFIRE, FULL)])
    assert verdict is not None and verdict.cosmetic is False and verdict.baseline == full
    result = assess(text(*MEDIAFIRE, CUT), edited, history=[prior(*MEDIAFIRE, FULL)]).to_json()
    assert result["cosmetic"] is False
    assert result["categories"].get("licensing") == "broadens"
    assert len(result["changes"]) == 1  # judged against the restored text: the one edited clause, not the cut
    assert "irrevocable" in result["changes"][0]["new"]
    assert result["artefact"]["summary"] == "back to the version of 2024-06-19, after a truncated capture, with changes"


def test_a_regional_variant_and_back_is_cosmetic() -> None:
    nest = ("Google Nest", "Privacy Policy")
    gb, us = "2022-10-18T18-34-55Z.md", "2022-12-14T13-33-29Z.md"
    history = [prior(*nest, gb, 3), prior(*nest, us, 4)]
    result = assess(text(*nest, "2023-03-02T18-34-46Z.md"), text(*nest, "2023-03-03T06-34-52Z.md"),
                    history=history).to_json()  # en-US, then en-GB again (S181)
    assert result["cosmetic"] is True
    assert result["restores"]["version_id"] == 3
    assert result["artefact"]["summary"] == "back to the version of 2022-10-18, after its other regional variant"
    # The first switch has no history to go by: the detectors say nothing of it.
    assert judge(text(*nest, gb), text(*nest, us), []) is None


def test_another_document_and_back_is_judged_against_the_document_it_returns_to() -> None:
    xfinity = ("Xfinity", "Terms of Service")
    licence, aup, back = "2017-08-13T23-07-33Z.md", "2017-09-22T05-52-08Z.md", "2017-12-06T06-49-31Z.md"
    verdict = judge(text(*xfinity, aup), text(*xfinity, back), [prior(*xfinity, licence)])
    assert verdict is not None and verdict.kind == "restoration"
    assert "after another document captured at the same address" in verdict.summary
    assert verdict.baseline == text(*xfinity, licence)
    result = assess(text(*xfinity, aup), text(*xfinity, back), history=[prior(*xfinity, licence)]).to_json()
    assert result["restores"]["recorded_at"].startswith("2017-08-13")
    against_aup = assess(text(*xfinity, aup), text(*xfinity, back)).to_json()
    assert len(result["changes"]) < len(against_aup["changes"]) / 5


def test_a_return_after_a_real_version_is_named_but_judged_on_its_edits() -> None:
    acdelco = ("ACDelco", "Privacy Policy")
    history = [prior(*acdelco, f, i) for i, f in enumerate(
        ["2022-08-18T18-30-03Z.md", "2022-12-16T00-30-02Z.md", "2022-12-16T18-30-02Z.md"], start=4)]
    new = text(*acdelco, "2023-01-09T00-30-10Z.md")
    assert new == history[-1].text  # labelled substantive (S013): the voiceprint section comes back
    result = assess(text(*acdelco, "2023-01-08T12-30-02Z.md"), new, history=history).to_json()
    assert result["cosmetic"] is False
    assert result["restores"]["version_id"] == 6
    assert result["artefact"]["kind"] == "revert"


def test_an_ordinary_edit_says_nothing_of_history() -> None:
    old = text(*MEDIAFIRE, FULL)
    new = old.replace("royalty-free", "royalty-bearing")
    assert judge(old, new, [prior(*MEDIAFIRE, FULL)]) is None  # nearest the version it edits, not a return


def test_canonical_words_ignore_markup_links_tracking_and_spelling() -> None:
    gb = "1. **Licence**: see [our centre](https://example.com/en-gb/help?utm_source=mail) for the colour\u200b."
    us = "- Licence: see [our center](https://example.com/help) for the color."
    assert text_words(gb) == text_words(us)
    assert text_words("kept for 30 days") != text_words("kept for 3 years")
