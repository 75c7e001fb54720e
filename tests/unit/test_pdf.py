"""PDF documents: detected by content type (or by their %PDF- magic), read into normalised Markdown.

The PDFs are generated here with reportlab: one with a text layer over two pages,
one that is only a drawn picture (what a scan looks like to a text extractor),
which must be a clear per-document ExtractError, never an empty version.
"""

from __future__ import annotations

import io

import pytest

from tos_watch.errors import DocumentError, ExtractError
from tos_watch.extract import extract
from tos_watch.models import Source

pytest.importorskip("reportlab", reason="reportlab generates the test PDFs (pip install reportlab)")

SOURCE = Source(url="https://example.com/legal/privacy.pdf")
CLAUSES = [
    "We collect the voice recordings you make with the device.",
    "We keep recordings for 30 days, then delete them.",
    "You may ask us to delete your data at any time by writing to privacy@example.com.",
]


def _text_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    story = [Paragraph("Privacy Policy", styles["Title"]), Paragraph(CLAUSES[0], styles["BodyText"]),
             Paragraph(CLAUSES[1], styles["BodyText"]), PageBreak(),
             Paragraph("Your rights", styles["Heading2"]), Paragraph(CLAUSES[2], styles["BodyText"])]
    SimpleDocTemplate(buffer, pagesize=A4, title="Privacy Policy").build(story)
    return buffer.getvalue()


def _picture_pdf() -> bytes:
    """A page with only drawn shapes: a PDF with no text layer, like a scanned document."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for row in range(40):
        page.setFillGray(0.2 + (row % 5) / 10)
        page.rect(60, 780 - row * 18, 300 + (row * 37) % 160, 9, stroke=0, fill=1)
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.mark.parametrize("content_type", ["application/pdf", "application/pdf; qs=0.9",
                                          "application/octet-stream", ""])
def test_pdf_text_becomes_normalised_markdown(content_type: str) -> None:
    text = extract(_text_pdf(), content_type, SOURCE)
    flat = " ".join(text.split())
    for clause in CLAUSES:
        assert clause in flat
    assert flat.index("Privacy Policy") < flat.index(CLAUSES[0]) < flat.index("Your rights") < flat.index(CLAUSES[2])
    assert "\n\n\n" not in text and not any(line != line.rstrip() for line in text.splitlines())
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_the_same_pdf_extracts_to_the_same_text() -> None:
    assert extract(_text_pdf(), "application/pdf", SOURCE) == extract(_text_pdf(), "application/pdf", SOURCE)


def test_pdf_without_a_text_layer_is_a_clear_document_failure() -> None:
    with pytest.raises(ExtractError, match="no text layer") as caught:
        extract(_picture_pdf(), "application/pdf", SOURCE)
    assert isinstance(caught.value, DocumentError)  # fails this document only, never the run


def test_damaged_pdf_is_a_clear_document_failure() -> None:
    damaged = _text_pdf()[:400]
    with pytest.raises(ExtractError, match="PDF"):
        extract(damaged, "application/pdf", SOURCE)
