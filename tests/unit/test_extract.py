"""extract: fetched bytes -> normalised Markdown; the configured part only, noise never leaks."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import time
from pathlib import Path
from types import ModuleType

import pytest

from tos_watch.errors import ExtractError, SelectorError
from tos_watch.extract import decode, extract, validate_selector
from tos_watch.extract.lxml_html import extract_with_lxml
from tos_watch.extract.soup_html import extract_with_soup
from tos_watch.models import RangeSelector, Selector, Source

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
URL = "https://example.com/legal/privacy"

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>T</title>
<script>var token = "abc123";</script><style>p{color:red}</style></head><body>
<header class="site"><a href="/">Logo</a></header>
<nav><ul><li><a href="/help">Help</a></li></ul></nav>
<div class="cookie">We use cookies. <button>Accept</button></div>
<main>
<h1 id="top">Privacy Policy</h1>
<p id="intro">We keep your data for <strong>30 days</strong>. See <a href="/cookies?utm_source=x&amp;lang=en">cookies</a>.</p>
<h2 id="collect">What we collect</h2>
<ul><li>Your name</li><li>Your <em>email</em> address</li></ul>
<div hidden>hidden text</div><p style="display: none">invisible text</p><span aria-hidden="true">icon</span>
<h2 id="share">Sharing</h2>
<table><thead><tr><th>Partner</th><th>Purpose</th></tr></thead>
<tbody><tr><td>Acme</td><td>Ads</td></tr></tbody></table>
<noscript>enable js</noscript><form><input name="q"><label>Search</label></form>
<h2 id="end">Contact</h2><p>Write to us.</p>
</main>
<footer>Generated at 12:00:01</footer>
</body></html>"""


def run(select: tuple[Selector, ...] = (), remove: tuple[Selector, ...] = (), page: str = PAGE,
        **kwargs: tuple[str, ...]) -> str:
    return extract(page.encode(), "text/html; charset=utf-8", Source(URL, select=select, remove=remove, **kwargs))


# (name, select, remove, must contain, must not contain)
EXTRACT_CASES = [
    ("heuristic picks main", (), (), ["# Privacy Policy", "## Sharing"], ["Logo", "Help", "cookies.", "12:00"]),
    ("script style noscript form dropped", (), (), ["Write to us."], ["abc123", "color:red", "enable js", "Search"]),
    ("hidden elements dropped", (), (), ["Your name"], ["hidden text", "invisible text", "icon"]),
    ("list items", (), (), ["- Your name\n- Your *email* address"], []),
    ("links absolute", (), (), ["[cookies](https://example.com/cookies?utm_source=x&lang=en)"], []),
    ("table", (), (), ["| Partner | Purpose |\n| --- | --- |\n| Acme | Ads |"], []),
    ("bold", (), (), ["**30 days**"], []),
    ("select css", ("#intro",), (), ["We keep your data"], ["# Privacy Policy", "Sharing"]),
    ("select several in selector order", ("#end", "h1"), (), ["## Contact\n\n# Privacy Policy"], ["Sharing"]),
    ("remove css", ("main",), ("table", "#intro"), ["What we collect"], ["Acme", "We keep"]),
    ("remove matching nothing is fine", ("main",), (".no-such-banner",), ["Privacy Policy"], []),
    ("select nested duplicates once", ("main", "h1"), (), ["# Privacy Policy"], []),
    ("range before/before", (RangeSelector(start_before="#collect", end_before="#share"),), (),
     ["## What we collect", "Your name"], ["Privacy Policy", "Sharing", "Acme"]),
    ("range after/after", (RangeSelector(start_after="#collect", end_after="table"),), (),
     ["Your name", "## Sharing", "| Acme | Ads |"], ["What we collect", "Contact"]),
    ("remove range", ("main",), (RangeSelector(start_after="h1", end_before="#end"),),
     ["# Privacy Policy\n\n## Contact"], ["We keep", "Acme"]),
    ("select a header explicitly", ("header.site",), (), ["[Logo](https://example.com/)"], []),
]


@pytest.mark.parametrize(("name", "select", "remove", "present", "absent"), EXTRACT_CASES,
                         ids=[c[0] for c in EXTRACT_CASES])
def test_extract(name: str, select: tuple[Selector, ...], remove: tuple[Selector, ...],
                 present: list[str], absent: list[str]) -> None:
    text = run(select, remove)
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_remove_query_params() -> None:
    text = run(remove_query_params=("utm_source",))
    assert "[cookies](https://example.com/cookies?lang=en)" in text


def test_range_inside_a_list_keeps_list_structure() -> None:
    page = "<main><ul><li id='a'>one</li><li>two</li><li id='c'>three</li></ul></main>"
    text = run((RangeSelector(start_after="#a", end_after="#c"),), page=page)
    assert text == "- two\n- three\n"


def test_header_inside_article_is_content() -> None:
    page = "<main><article><header><h1>Terms</h1><p>Updated 1 May</p></header><p>Body</p></article></main>"
    assert run(page=page) == "# Terms\n\nUpdated 1 May\n\nBody\n"


@pytest.mark.parametrize(
    ("select", "named"),
    [
        (("#missing",), "#missing"),
        (("main", ".gone"), ".gone"),
        ((RangeSelector(start_before="#nope", end_before="#end"),), "#nope"),
        ((RangeSelector(start_before="#top", end_after="#nope2"),), "#nope2"),
    ],
)
def test_selector_matching_nothing_names_it(select: tuple[Selector, ...], named: str) -> None:
    with pytest.raises(SelectorError) as info:
        run(select)
    assert info.value.selector == named
    assert named in str(info.value) and URL in str(info.value)


def test_remove_range_anchor_missing_is_an_error() -> None:
    with pytest.raises(SelectorError, match="#ghost"):
        run(("main",), (RangeSelector(start_before="#ghost", end_before="#end"),))


def test_range_end_before_start_is_an_error() -> None:
    with pytest.raises(ExtractError, match="end comes before its start"):
        run((RangeSelector(start_before="#end", end_before="#top"),))


@pytest.mark.parametrize("bad", ["div[", "p:::x", "##", ">>"])
def test_invalid_selector(bad: str) -> None:
    message = validate_selector(bad)
    assert message is not None and bad in message
    with pytest.raises(ExtractError, match="invalid CSS selector") as info:
        run((bad,))
    assert bad in str(info.value)


@pytest.mark.parametrize(
    ("sel", "ok"),
    [
        ("main > article.policy", True),
        ("#content", True),
        (RangeSelector(start_before="#a", end_after="#b"), True),
        (RangeSelector(start_before="#a"), False),
        (RangeSelector(start_before="#a", start_after="#b", end_before="#c"), False),
        (RangeSelector(start_before="div[", end_before="#c"), False),
        ("  ", False),
    ],
)
def test_validate_selector(sel: Selector, ok: bool) -> None:
    assert (validate_selector(sel) is None) is ok


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "text/html"),
        (b"   \n  ", "text/html"),
        (b"<html><body><main>  </main></body></html>", "text/html"),
        (random.Random(1).randbytes(4096), "application/octet-stream"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), None),
    ],
    ids=["empty", "whitespace", "empty main", "random bytes", "png"],
)
def test_no_readable_text(content: bytes, content_type: str | None) -> None:
    with pytest.raises(ExtractError, match="no readable text"):
        extract(content, content_type, Source(URL))


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        ("Données conservées pendant 30 jours.".encode("latin-1"), "text/html; charset=iso-8859-1",
         "Données conservées pendant 30 jours."),
        ("l’été – “données”".encode("cp1252"), "text/html; charset=utf-8", "l’été – “données”"),
        ('<meta charset="iso-8859-15"><p>€ coût</p>'.encode("iso-8859-15"), "text/html", "€ coût"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>naïve ’</p>'
         .encode("cp1252"), None, "naïve ’"),
        ("日本語のプライバシーポリシー".encode(), None, "日本語のプライバシーポリシー"),
        ("\ufeffBOM wins".encode("utf-16"), "text/html; charset=utf-8", "BOM wins"),
        (b"caf\xe9 \xff\xfe", "text/html; charset=bogus-charset", "caf"),
    ],
    ids=["latin1 header", "lying header", "meta charset", "http-equiv", "utf-8 no header", "bom", "bogus"],
)
def test_decode(content: bytes, content_type: str | None, expected: str) -> None:
    assert expected in decode(content, content_type)


def test_latin1_page_extracts() -> None:
    body = "<html><body><main><p>Données conservées pendant 30 jours.</p></main></body></html>"
    text = extract(body.encode("latin-1"), "text/html; charset=iso-8859-1", Source(URL))
    assert text == "Données conservées pendant 30 jours.\n"


def test_plain_text_is_normalised() -> None:
    text = extract(b"Terms\r\n\r\n\r\n* one\t\r\n", "text/plain; charset=utf-8", Source(URL))
    assert text == "Terms\n\n- one\n"


def test_same_page_gives_identical_bytes() -> None:
    assert run() == run()


# ---------------------------------------------------------------- the real corpus, noisy pages


def _policy_site() -> ModuleType:
    spec = importlib.util.spec_from_file_location("policy_site", SHARED / "tools" / "policy_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _corpus_versions() -> list[tuple[dict[str, str], Path]]:
    manifest = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    return [({"service": e["service"], "document": e["document"]},
             CORPUS / e["service"] / e["document"] / v["file"]) for e in manifest for v in e["versions"]]


def _words(markdown_text: str) -> str:
    """The words of a line, without link targets, escapes or emphasis: markup may differ, wording may not."""
    return " ".join(re.findall(r"\w+", re.sub(r"\]\([^)]*\)", "]", markdown_text)))


def _heading_words(markdown_text: str) -> list[str]:
    """Words of every heading of a Markdown text, ATX or setext."""
    lines = markdown_text.splitlines()
    heads = [line.lstrip("#") for line in lines if line.startswith("#")]
    heads += [lines[k - 1] for k in range(1, len(lines))  # one-line setext, outside lists and indented blocks
              if re.match(r"[^\s\-*+\d]", lines[k - 1]) and re.fullmatch(r"=+|-{3,}", lines[k].rstrip())
              and (k == 1 or not lines[k - 2].strip())]
    # "### <Use of cookies>" is an unknown HTML tag to python-markdown: invisible on the page too.
    return [w for w in map(_words, (h for h in heads if "<" not in h)) if w]


@pytest.mark.skipif(not (CORPUS / "manifest.json").is_file(), reason=f"shared corpus not found at {CORPUS}")
def test_noise_never_changes_the_output_over_the_whole_corpus() -> None:
    """All 752 real versions, each served in two differently noised pages: identical extraction."""
    markdown = pytest.importorskip("markdown", reason="the replay site renders with python-markdown")
    site = _policy_site()
    source = Source("http://127.0.0.1:8000/svc/doc", select=("#content",))
    versions = _corpus_versions()
    assert len(versions) == 752
    failures: list[str] = []
    for n, (doc, path) in enumerate(versions):
        text = path.read_text("utf-8")
        body = markdown.markdown(text, extensions=["tables"])
        pages = [site.page(doc, body, random.Random(seed), 1.7e9 + seed * 3600).encode() for seed in (n, n + 1)]
        if not text.strip():
            for page in pages:
                with pytest.raises(ExtractError):
                    extract(page, "text/html; charset=utf-8", source)
            continue
        first, second = (extract(page, "text/html; charset=utf-8", source) for page in pages)
        assert first == second, f"noise leaked into {path}"
        assert first.strip(), path
        # A multi-line setext heading is one heading line in the output: look for containment.
        extracted = "\n".join(_heading_words(first))
        failures += [f"{path}: heading {h!r}" for h in _heading_words(text) if h not in extracted][:3]
        if "|" in text and "<table>" in body:
            assert "| --- |" in first, f"table lost in {path}"
        if "<a href=" in body:
            assert "](" in first, f"links lost in {path}"
        if "<li>" in body:
            assert "\n- " in first or "\n1. " in first or first.startswith(("- ", "1. ")), path
    assert not failures, "\n".join(failures[:20])


# ---------------------------------------------------------------- the two HTML paths, hostile input


def test_soupsieve_only_selector_falls_back_to_the_soup_path() -> None:
    """cssselect cannot translate :-soup-contains(); the page still extracts, the same way."""
    assert run(('p:-soup-contains("30 days")',)) == run(("#intro",))


@pytest.mark.parametrize("select", [("main",), ("#intro", "h2"), ("table",)])
def test_lxml_and_soup_paths_agree_on_wording(select: tuple[str, ...]) -> None:
    source = Source(URL, select=select)
    assert _words(extract_with_lxml(PAGE, source)) == _words(extract_with_soup(PAGE, source))


def test_links_images_and_empty_links() -> None:
    page = ('<main><p><a href="javascript:void(0)">js</a> <img src="/x.png?v=123" alt="Logo text">'
            ' <a href="/empty"></a> <a href="data:text/plain,x">data</a></p></main>')
    assert run(page=page) == "js Logo text data\n"


def test_xml_declaration_is_accepted() -> None:
    page = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            "<body><main><p>XHTML terms</p></main></body></html>")
    assert run(page=page) == "XHTML terms\n"


def test_nesting_past_libxml2_limit_keeps_all_text() -> None:
    """libxml2 stops at 256 levels and drops the rest; such a page goes to the soup path instead."""
    page = "<main><p>top</p>" + "<div>" * 300 + "deep" + "</div>" * 300 + "<p>after</p></main>"
    assert run(page=page) == "top\n\ndeep\n\nafter\n"


def test_ten_thousand_levels_is_an_error_not_a_crash() -> None:
    page = "<main><p>top</p>" + "<div>" * 10_000 + "deep" + "</div>" * 10_000 + "</main>"
    started = time.perf_counter()
    with pytest.raises(ExtractError, match="nests its tags too deeply"):
        run(page=page)
    assert time.perf_counter() - started < 10


def test_five_megabyte_page() -> None:
    page = "<main>" + "".join(f"<p>Clause {n}: we keep your data.</p>" for n in range(160_000)) + "</main>"
    assert len(page) > 5_000_000
    started = time.perf_counter()
    text = run(page=page)
    assert time.perf_counter() - started < 20
    assert text.startswith("Clause 0: we keep") and text.endswith("Clause 159999: we keep your data.\n")


@pytest.mark.parametrize("page", ["<main><p>unclosed <b>bold <i>both</main>", "<p>no main</p></div></span>",
                                  "<main><table><td>cell<tr><p>stray</table></main>", "<<<>>><main>x</main>"])
def test_malformed_html_still_extracts(page: str) -> None:
    assert run(page=page).strip()
