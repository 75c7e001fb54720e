"""What every view takes from the application: the query layer, the store, the templates."""

from __future__ import annotations

from jinja2 import Environment
from starlette.requests import Request

from tos_watch.store import SqlStore
from tos_watch.store.queries import Queries


def queries(request: Request) -> Queries:
    return request.app.state.queries  # type: ignore[no-any-return]


def store_of(request: Request) -> SqlStore:
    return request.app.state.store  # type: ignore[no-any-return]


def templates(request: Request) -> Environment:
    return request.app.state.templates  # type: ignore[no-any-return]

SLASH = "\ue000"  # a quoted "/" inside a name, kept apart from the path's own slashes while routing


def param(request: Request, key: str) -> str:
    """A service or document type from the path (see app.Guard for the "/" inside names)."""
    return str(request.path_params[key]).replace(SLASH, "/")
