"""Extraction speed over the real corpus, wrapped in the replay site's noisy page.

Run by hand: .venv/bin/python benchmarks/extract_speed.py [--limit N] [--profile]
Prints pages/sec and mean ms/page for `extract` (lxml + cssselect + html-to-markdown), for
the BeautifulSoup + soupsieve + markdownify fallback path, and, for comparison, the
parse-only cost of BeautifulSoup and of lxml alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tos_watch.errors import ExtractError  # noqa: E402
from tos_watch.extract import extract  # noqa: E402
from tos_watch.models import Source  # noqa: E402

SHARED = ROOT.parent / "shared"


def load_pages(limit: int | None) -> list[bytes]:
    """Every corpus version rendered as the replay site serves it."""
    spec = importlib.util.spec_from_file_location("policy_site", SHARED / "tools" / "policy_site.py")
    assert spec and spec.loader
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    import markdown

    corpus = SHARED / "corpus"
    pages: list[bytes] = []
    for entry in json.loads((corpus / "manifest.json").read_text("utf-8")):
        doc = {"service": entry["service"], "document": entry["document"]}
        for version in entry["versions"]:
            text = (corpus / entry["service"] / entry["document"] / version["file"]).read_text("utf-8")
            body = markdown.markdown(text, extensions=["tables"])
            pages.append(site.page(doc, body, random.Random(len(pages)), 1.7e9).encode())
    return pages[:limit] if limit else pages


def timed(label: str, pages: list[bytes], fn) -> None:  # type: ignore[no-untyped-def]
    times = []
    for content in pages:
        t0 = time.perf_counter()
        try:
            fn(content)
        except ExtractError:  # the corpus holds one empty version: a real recording failure
            pass
        times.append(time.perf_counter() - t0)
    total = sum(times)
    mb = sum(map(len, pages)) / 1e6
    print(f"{label:<28} {len(pages) / total:8.1f} pages/s  mean {1000 * statistics.mean(times):7.2f} ms"
          f"  median {1000 * statistics.median(times):6.2f} ms  max {1000 * max(times):7.1f} ms"
          f"  {mb / total:6.2f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    pages = load_pages(args.limit)
    source = Source("http://127.0.0.1:8000/x/y", select=("#content",))
    print(f"{len(pages)} pages, {sum(map(len, pages)) / 1e6:.1f} MB of HTML")
    if args.profile:
        import cProfile
        import pstats

        def run_all() -> None:
            for page in pages:
                try:
                    extract(page, "text/html; charset=utf-8", source)
                except ExtractError:
                    pass

        cProfile.runctx("run_all()", globals(), {"run_all": run_all}, "/tmp/extract.prof")
        pstats.Stats("/tmp/extract.prof").sort_stats("cumulative").print_stats(25)
        return
    import lxml.html
    from bs4 import BeautifulSoup

    timed("extract (#content)", pages, lambda c: extract(c, "text/html; charset=utf-8", source))
    timed("extract (heuristic)", pages, lambda c: extract(c, "text/html; charset=utf-8", Source("http://h/")))
    from tos_watch.extract.soup_html import extract_with_soup
    from tos_watch.extract.text import decode

    timed("soup fallback (#content)", pages, lambda c: extract_with_soup(decode(c, "text/html"), source))
    timed("parse only: BeautifulSoup", pages, lambda c: BeautifulSoup(c, "lxml"))
    timed("parse only: lxml.html", pages, lambda c: lxml.html.fromstring(c))


if __name__ == "__main__":
    main()
