"""The exception tree. Every message says what failed, where, and what to do.

    TosWatchError
    ├── ConfigError          bad tos-watch.toml or flags: one line, exit status 2
    ├── DocumentError        one document failed; the run goes on (becomes a failed Outcome)
    │   ├── FetchError       the page could not be fetched (.transient: worth retrying later)
    │   └── ExtractError     the page was fetched but no text could be read from it
    │       ├── SelectorError  a configured selector matched nothing
    │       └── EmptyTextError the selection holds no text (blank or broken page)
    ├── StoreError           the data directory or database is unusable
    └── NotFoundError        a service, document or version the user named does not exist
"""

from __future__ import annotations


class TosWatchError(Exception):
    """Base of every error tos_watch raises on purpose."""


class ConfigError(TosWatchError):
    """The configuration or the command line is wrong; the user must fix it."""

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None) -> None:
        self.source = source
        self.where = where
        prefix = ", ".join(p for p in (source, where) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DocumentError(TosWatchError):
    """One document could not be checked; recorded as its outcome, never stops a run."""

    transient = False


class FetchError(DocumentError):
    """Fetching failed. `transient` says whether trying again later may succeed."""

    def __init__(self, message: str, *, url: str, transient: bool = False) -> None:
        self.url = url
        self.transient = transient
        super().__init__(message)


class ExtractError(DocumentError):
    """The page held no text we could extract (binary, empty, no text layer...)."""


class SelectorError(ExtractError):
    """A configured selector matched nothing on the page."""

    def __init__(self, selector: str, *, url: str | None = None) -> None:
        self.selector = selector
        where = f" on {url}" if url else ""
        super().__init__(f'selector "{selector}" matched nothing{where}; check the page or fix the selector')


class EmptyTextError(ExtractError):
    """The page parsed and the selectors matched, but no text is left: blank or broken page."""


class StoreError(TosWatchError):
    """The store cannot be opened or written."""


class NotFoundError(TosWatchError):
    """Something the user named (service, document, version) is not known."""
