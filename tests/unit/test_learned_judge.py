"""The learned clause-edit judge on Ring-style clause edits and cosmetic controls, and its shipped model.

Each case is one edit inside a realistic policy: the judgement must name the
category and its direction, and stay quiet on the cosmetic controls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tos_watch.classify import assess
from tos_watch.classify.learned import MODEL_RESOURCE, RULES_ONLY, shipped_judge

POLICY = textwrap.dedent("""\
    # Privacy Policy

    Last updated: March 3, 2024

    ## Your content

    {licence}

    ## Who can see your data

    {access}

    We use service providers who process data on our behalf under contract.

    ## How long we keep it

    {retention}

    ## Contact us

    {contact}
    """)
BASE = {
    "licence": "You grant us a non-exclusive, revocable, royalty-free licence to host and display Your Content "
               "solely to operate the Services.",
    "access": "Only you can view the videos recorded by your devices. We disclose information to law "
              "enforcement only when we receive a valid warrant.",
    "retention": "We keep your recordings for 30 days, after which they are deleted.",
    "contact": "Write to privacy@example.com or to Example Inc., 100 Main Street, Springfield.",
}


def _doc(**edits: str) -> str:
    return POLICY.format(**{**BASE, **edits})


SUBSTANTIVE = [
    ("licence made irrevocable", {"licence": BASE["licence"].replace("revocable", "irrevocable, perpetual")},
     "licensing", "broadens"),
    ("contractors see recordings", {"access": "Only you and our contractors, who review them to improve the "
                                              "Services, can view the videos recorded by your devices. We disclose "
                                              "information to law enforcement only when we receive a valid warrant."},
     "access", "broadens"),
    ("police without a warrant", {"access": "Only you can view the videos recorded by your devices. We may disclose "
                                            "information to law enforcement upon request, without a warrant."},
     "access", "broadens"),
    ("retention made indefinite", {"retention": "We keep your recordings indefinitely."}, "retention", "broadens"),
    ("retention cut", {"retention": "We keep your recordings for 7 days, after which they are deleted."},
     "retention", "narrows"),
]
COSMETIC = [
    ("typo fixed in the licence", {"licence": BASE["licence"].replace("display", "dispaly")}),
    ("link target in the access clause", {"access": BASE["access"].replace("valid warrant",
                                                                          "valid [warrant](https://example.com/w)")}),
    ("date of the policy", {}),
    ("contact address moved", {"contact": "Write to privacy@example.com or to Example Inc., 250 Oak Avenue, "
                                          "Springfield."}),
    ("company renamed", {"contact": BASE["contact"].replace("Example Inc.", "Examplify Inc.")}),
]


@pytest.mark.parametrize(("name", "edit", "category", "direction"), SUBSTANTIVE, ids=[c[0] for c in SUBSTANTIVE])
def test_ring_style_edit_is_flagged_with_its_direction(name: str, edit: dict[str, str], category: str,
                                                       direction: str) -> None:
    result = assess(_doc(), _doc(**edit))
    assert not result.cosmetic, name
    assert result.categories.get(category) == direction, result.categories
    change = next(c for c in result.changes if category in c.categories)
    assert change.evidence[category], "every flag keeps its trigger words"


@pytest.mark.parametrize(("name", "edit"), COSMETIC, ids=[c[0] for c in COSMETIC])
def test_cosmetic_control_stays_quiet(name: str, edit: dict[str, str]) -> None:
    old = _doc()
    new = _doc(**edit) if edit else old.replace("March 3, 2024", "April 9, 2025")
    result = assess(old, new)
    assert result.cosmetic, [c.to_json() for c in result.changes if not c.cosmetic]
    assert result.severity == "none"


def test_assessment_json_keeps_its_keys() -> None:
    out = assess(_doc(), _doc(retention="We keep your recordings indefinitely.")).to_json()
    assert {"cosmetic", "categories", "severity", "changes"} <= set(out)
    assert {"section", "old", "new", "kind", "cosmetic", "categories", "evidence", "severity",
            "summary"} <= set(out["changes"][0])


def test_shipped_model_is_small_and_says_how_it_was_built() -> None:
    import importlib.resources

    resource = importlib.resources.files("tos_watch.classify").joinpath(MODEL_RESOURCE)
    data = json.loads(resource.read_text(encoding="utf-8"))
    assert len(resource.read_bytes()) < 2 * 1024 * 1024
    meta = data["meta"]
    assert meta["script"] == "benchmarks/train_model.py" and meta["random_state"] == 0
    assert {"changes-dev.jsonl", "changes-dev2.jsonl", "clauses-dev.jsonl"} <= set(meta["data"])
    assert all(len(h) == 64 for h in meta["data"].values())
    assert shipped_judge() is not RULES_ONLY and shipped_judge().substantive is not None


def test_model_loads_and_judges_without_network() -> None:
    """In a fresh interpreter whose sockets all fail, the classifier loads its model and assesses."""
    code = textwrap.dedent("""\
        import socket
        def refuse(*a, **k):
            raise OSError("network used")
        socket.socket = refuse
        socket.create_connection = refuse
        from tos_watch.classify import assess
        from tos_watch.classify.learned import shipped_judge
        assert shipped_judge().substantive is not None
        print(assess("We keep data for 30 days.", "We keep data indefinitely.").categories)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "retention" in out.stdout


def test_check_path_imports_no_scikit_learn() -> None:
    code = ("import sys, tos_watch.compare_worker, tos_watch.classify; "
            "print('sklearn' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_a_judge_that_clears_everything_still_leaves_a_broadened_licence_at_high() -> None:
    """The rules' structured alarm (licence, access, retention broadened) is never cleared or demoted."""
    from tos_watch.classify.learned import EditJudge

    clears_all = EditJudge(shipped_judge().substantive, shipped_judge().categories, threshold=1.1, high=1.1)
    licence = BASE["licence"].replace("revocable", "irrevocable, perpetual")
    alarm = assess(_doc(), _doc(licence=licence), judge=clears_all)
    assert alarm.categories == {"licensing": "broadens"} and alarm.severity == "high"
    shorter = _doc(retention=BASE["retention"].replace("30 days", "7 days"))
    assert assess(_doc(), shorter, judge=RULES_ONLY).categories == {"retention": "narrows"}
    assert assess(_doc(), shorter, judge=clears_all).cosmetic is True  # a narrowing is the judge's to clear
