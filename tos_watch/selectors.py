"""Whether a CSS selector is valid: one check for the config, the importer and extraction.

cssselect (the fast extraction path's engine, 5 ms to import) answers first;
soupsieve, which also knows the fallback path's extra pseudo-classes but takes
50 ms to import, is asked only about what cssselect refuses.
"""

from __future__ import annotations

from cssselect import GenericTranslator
from cssselect import SelectorError as CssSelectorError

_TRANSLATOR = GenericTranslator()


def css_problem(selector: str) -> str | None:
    """Why a CSS selector is invalid, or None when an extraction path accepts it."""
    if not selector.strip():
        return "empty selector"
    try:
        _TRANSLATOR.css_to_xpath(selector)
        return None
    except (CssSelectorError, ValueError, TypeError):
        pass
    import soupsieve

    try:
        soupsieve.compile(selector)
    except (soupsieve.SelectorSyntaxError, ValueError, TypeError) as exc:
        return str(exc).splitlines()[0]
    return None
