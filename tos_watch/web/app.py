"""The Starlette application: routes, security headers, the bearer token, and errors as JSON or HTML.

Starlette, not FastAPI or Litestar: the view needs routing, a thread pool for the
store's blocking reads and middleware, nothing more; its pages are Jinja2 over
pages.py and its OpenAPI document is written out in api.py, so a framework that
derives both from type hints would add a dependency tree (pydantic) without
saving code.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tos_watch.errors import ConfigError, NotFoundError, StoreError
from tos_watch.store import SqlStore
from tos_watch.store.queries import Queries
from tos_watch.web import api, pages, redline, views
from tos_watch.web.app_state import SLASH

log = logging.getLogger("tos_watch.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Page text is hostile: no inline script or style, nothing from elsewhere, no framing, no plugins.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]


class Guard:
    """ASGI middleware: security headers on every response, the bearer token, names with "/" in them."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path")
        if raw:  # route on the raw path so that a service named "a/b" (quoted "a%2Fb") stays one segment
            scope["path"] = unquote(raw.decode("latin-1").replace("%2F", SLASH).replace("%2f", SLASH))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        if self.token is not None and not self._authorised(scope):
            response = JSONResponse({"status": 401, "message": "a bearer token is required (Authorization: "
                                     "Bearer <token>)"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)

    def _authorised(self, scope: Scope) -> bool:
        assert self.token is not None
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return hmac.compare_digest(value[7:].strip(), self.token)
        return False


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"status": status, "message": message}, status_code=status)
    templates: Environment = request.app.state.templates
    body = templates.get_template("error.html.j2").render(status=status, message=message)
    return HTMLResponse(body, status_code=status)


async def _on_not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _on_bad_input(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _on_store(request: Request, exc: Exception) -> Response:
    log.error("store error", extra={"path": request.url.path, "error": str(exc)})
    return _error(request, 503, f"the store is unavailable: {exc}")


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"nothing at {request.url.path}", 405: "method not allowed (this view is read-only)"}
    return _error(request, exc.status_code, message.get(exc.status_code, str(exc.detail)))


async def _on_crash(request: Request, exc: Exception) -> Response:
    log.exception("internal error", extra={"path": request.url.path})
    return _error(request, 500, "internal error (logged on the server)")


def create_app(store: SqlStore, *, token: str | None = None) -> ASGIApp:
    """The web view over a store; requests need `Authorization: Bearer <token>` when a token is given."""
    routes = [*views.routes(), Mount("/api/v1", routes=api.routes()),
              Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static")]
    app = Starlette(routes=routes, exception_handlers={
        NotFoundError: _on_not_found, ConfigError: _on_bad_input, StoreError: _on_store,
        HTTPException: _on_http, Exception: _on_crash})
    app.state.queries = Queries(store)
    app.state.store = store
    app.state.templates = Environment(loader=PackageLoader("tos_watch.web", "templates"),
                                      autoescape=select_autoescape(default=True, default_for_string=True),
                                      trim_blocks=True, lstrip_blocks=True)
    app.state.templates.globals.update(q=pages.q, categories=pages.CATEGORIES, directions=pages.DIRECTIONS,
                                       severities=pages.SEVERITIES, request_query={}, api_url=None)
    app.state.templates.filters["redline"] = redline.to_html
    return Guard(app, token)
