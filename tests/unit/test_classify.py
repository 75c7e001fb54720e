"""The Ring cases of issue 3, as old/new clause pairs, with cosmetic controls in the same clauses."""

from __future__ import annotations

import pytest

from tos_watch.classify import CATEGORIES, SEVERITIES, Assessment, assess, categorize

LICENCE = ("## Your content\n\nBy uploading content you grant Ring a worldwide, non-exclusive, royalty-free "
           "licence to use, copy and display it for the purpose of operating the service.\n")
ACCESS = ("## Law enforcement\n\nWe disclose recordings to law enforcement only in response to a valid subpoena "
          "or court order.\n")
RETENTION = "## Storage\n\nWe keep your footage for 60 days, after which it is deleted.\n"
INTRO = "# Ring Terms of Service\n\nLast updated: January 1, 2024\n\n"


def doc(*clauses: str) -> str:
    return INTRO + "\n".join(clauses)


SUBSTANTIVE = [
    ("perpetual licence",
     LICENCE, LICENCE.replace("worldwide, non-exclusive", "worldwide, perpetual, irrevocable, non-exclusive"),
     "licensing", "broadens"),
    ("sublicensable licence",
     LICENCE, LICENCE.replace("royalty-free licence", "royalty-free, sublicensable and transferable licence"),
     "licensing", "broadens"),
    ("police on request",
     ACCESS, ACCESS.replace("only in response to a valid subpoena or court order", "upon request"),
     "access", "broadens"),
    ("contractors see recordings",
     ACCESS, ACCESS + "\nOur contractors and staff may access and review your recordings.\n",
     "access", "broadens"),
    ("keep as long as necessary",
     RETENTION, RETENTION.replace("for 60 days, after which it is deleted", "for as long as necessary"),
     "retention", "broadens"),
    ("keep indefinitely",
     RETENTION, RETENTION.replace("for 60 days, after which it is deleted", "indefinitely"),
     "retention", "broadens"),
    ("60 days to 2 years",
     RETENTION, RETENTION.replace("60 days", "2 years"), "retention", "broadens"),
    ("indefinitely to 30 days",
     RETENTION.replace("for 60 days, after which it is deleted", "indefinitely"),
     RETENTION.replace("60 days", "30 days"), "retention", "narrows"),
    ("2 years to 60 days",
     RETENTION.replace("60 days", "2 years"), RETENTION, "retention", "narrows"),
    ("face recognition added",
     RETENTION, RETENTION + "\nWe use facial recognition to identify people who appear in your videos.\n",
     "biometrics", "broadens"),
    ("recordings train models",
     RETENTION, RETENTION + "\nWe use your recordings to train our machine learning models.\n",
     "ai_training", "broadens"),
]


@pytest.mark.parametrize(("name", "old", "new", "category", "direction"), SUBSTANTIVE,
                         ids=[c[0] for c in SUBSTANTIVE])
def test_ring_cases_flag_category_and_direction(name: str, old: str, new: str, category: str,
                                                direction: str) -> None:
    result = assess(doc(old), doc(new))
    assert not result.cosmetic
    assert result.categories.get(category) == direction, result.to_json()


def test_mission_broadening_is_high_severity() -> None:
    result = assess(doc(ACCESS), doc(ACCESS.replace("only in response to a valid subpoena or court order",
                                                    "upon request")))
    assert result.severity == "high"
    assert result.changes[0].severity == "high"
    assert result.changes[0].evidence["access"]


COSMETIC = [
    ("typo in licence", LICENCE, LICENCE.replace("operating", "opertaing")),
    ("renumbered section", "## 4. Your content\n\n" + LICENCE.split("\n\n", 1)[1],
     "## 5. Your content\n\n" + LICENCE.split("\n\n", 1)[1]),
    ("new link target", ACCESS.replace("law enforcement", "[law enforcement](https://ring.com/le)"),
     ACCESS.replace("law enforcement", "[law enforcement](https://ring.com/law-enforcement-guide)")),
    ("moved paragraph in licence",
     LICENCE + "\nYou remain responsible for your content.\n\nWe respect your privacy.\n",
     LICENCE.replace("## Your content\n\n", "## Your content\n\nYou remain responsible for your content.\n\n")
     + "\nWe respect your privacy.\n"),
    ("punctuation and case in retention", RETENTION, RETENTION.replace("60 days, after", "60 Days; after")),
    ("date line", RETENTION, RETENTION),
    ("company rename", ACCESS.replace("We disclose", "Facebook discloses"),
     ACCESS.replace("We disclose", "Meta discloses")),
    ("contact e-mail changed", "## Contact\n\nQuestions can be sent to [privacy@ring.com](mailto:privacy@ring.com).\n",
     "## Contact\n\nQuestions can be sent to [support@ring.com opens email client](mailto:support@ring.com).\n"),
    ("contact e-mail removed", "## Contact\n\nYou may contact our Data Protection Officer here or at dpo@ring.com.\n",
     "## Contact\n\nYou may contact our Data Protection Officer here.\n"),
    ("page title", "Privacy Policy\n\n" + RETENTION, "Privacy Policy | Ring Policies\n\n" + RETENTION),
    ("navigation bar item", "Terms | Privacy | Cookies | Help\n\n" + RETENTION,
     "Terms | Privacy | Cookies | Accessibility | Help\n\n" + RETENTION),
    ("curly apostrophes", "## Storage\n\nWe keep your footage, but it's deleted after 60 days.\n",
     "## Storage\n\nWe keep your footage, but it’s deleted after 60 days.\n"),
    ("banner", RETENTION, "We're updating our Privacy Policy, effective April 30, 2025. Learn more.\n\n"
     + RETENTION),
]


@pytest.mark.parametrize(("name", "old", "new"), COSMETIC, ids=[c[0] for c in COSMETIC])
def test_cosmetic_controls_flag_nothing(name: str, old: str, new: str) -> None:
    new_doc = doc(new).replace("January 1, 2024", "March 3, 2025")
    result = assess(doc(old), new_doc)
    assert result.cosmetic, result.to_json()
    assert result.categories == {}
    assert result.severity == "none"


def test_identical_versions_have_no_changes() -> None:
    result = assess(doc(LICENCE), doc(LICENCE))
    assert result == Assessment(True, {}, "none", ())


def test_split_paragraph_is_cosmetic() -> None:
    old = "## Storage\n\nWe keep footage for 60 days. Then we delete it.\n"
    new = "## Storage\n\nWe keep footage for 60 days.\n\nThen we delete it.\n"
    assert assess(old, new).cosmetic


def test_to_json_shape() -> None:
    out = assess(doc(RETENTION), doc(RETENTION.replace("60 days", "2 years"))).to_json()
    assert set(out) == {"cosmetic", "categories", "severity", "changes"}
    change = next(c for c in out["changes"] if not c["cosmetic"])
    assert set(change) == {"section", "old", "new", "kind", "cosmetic", "categories", "evidence", "severity",
                           "summary"}
    assert change["section"] == "Storage"


@pytest.mark.parametrize(("text", "expected"), [
    ("You grant us a perpetual, irrevocable, sublicensable licence to your content.", "licensing"),
    ("We may share your personal information with advertisers and data brokers.", "access"),
    ("We retain your data for as long as your account is active.", "retention"),
    ("Any dispute will be resolved by binding arbitration.", "disputes"),
    ("We may modify these Terms at any time; continued use means you accept the changes.", "changes"),
])
def test_categorize_clause(text: str, expected: str) -> None:
    assert expected in categorize(text)


def test_categorize_plain_clause_is_none() -> None:
    assert categorize("Please choose a strong password for your account.") == []


def test_public_constants() -> None:
    assert CATEGORIES[:3] == ("licensing", "access", "retention")
    assert SEVERITIES == ("none", "low", "medium", "high")
