"""The HTML pages: thin views that render pages.py's data with Jinja2 (autoescaped)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tos_watch.errors import ConfigError, NotFoundError
from tos_watch.notify.feed import build_feed
from tos_watch.web import changes, pages
from tos_watch.web.app_state import param, queries, store_of, templates

FEED_ENTRIES = 100


def _render(request: Request, template: str, data: dict[str, Any], *, api: str | None = None) -> Response:
    body = templates(request).get_template(template).render(
        **data, request_query=dict(request.query_params), api_url=api)
    return HTMLResponse(body)


def _api(path: str, request: Request) -> str:
    query = request.url.query
    return "/api/v1" + path + (f"?{query}" if query else "")


def dashboard(request: Request) -> Response:
    data = pages.dashboard(queries(request), request.query_params)
    return _render(request, "dashboard.html.j2", data, api=_api("/changes", request))


def services(request: Request) -> Response:
    data = pages.services(queries(request), request.query_params)
    return _render(request, "services.html.j2", data, api=_api("/services", request))


def service(request: Request) -> Response:
    name = param(request, "service")
    data = pages.service(queries(request), name)
    return _render(request, "service.html.j2", data, api=f"/api/v1/services/{pages.q(data['service'])}")


def document(request: Request) -> Response:
    s, t = param(request, "service"), param(request, "type")
    qs = queries(request)
    data = pages.document(qs, s, t, request.query_params)
    state = qs.document(s, t)
    latest = qs.latest(state.id)
    text = store_of(request).version_text(latest) if latest else ""
    data["current_text"] = text[:pages.MAX_TEXT_CHARS]
    data["text_cut"] = max(len(text) - pages.MAX_TEXT_CHARS, 0)
    data["current"] = pages.version_json(latest) if latest else None
    return _render(request, "document.html.j2", data,
                   api=f"/api/v1{pages.document_path(state.service, state.type)}/versions")


def change(request: Request) -> Response:
    s, t = param(request, "service"), param(request, "type")
    data = changes.change_page(queries(request), store_of(request), s, t, int(request.path_params["version_id"]))
    return _render(request, "change.html.j2", {**data, "view": _view(request)},
                   api=f"/api/v1{data['doc_path']}/changes/{data['new']['id']}")


def compare(request: Request) -> Response:
    s, t = param(request, "service"), param(request, "type")
    p = request.query_params
    data = changes.compare_page(queries(request), store_of(request), s, t, p.get("from"), p.get("to"))
    return _render(request, "change.html.j2", {**data, "view": _view(request)},
                   api=_api(f"{data['doc_path']}/diff", request))


def _view(request: Request) -> str:
    view = request.query_params.get("view", "inline")
    if view not in ("inline", "side"):
        raise ConfigError(f'view "{view}" is not one of inline, side')
    return view


def raw_snapshot(request: Request) -> Response:
    """The page as fetched, as plain text: never rendered as HTML (it is hostile)."""
    s, t = param(request, "service"), param(request, "type")
    qs = queries(request)
    state = qs.document(s, t)
    version = qs.version(state.id, int(request.path_params["version_id"]))
    parts = qs.snapshot_parts(version.id)
    index = pages.paging({"offset": request.query_params.get("part", "0")})[1]
    if index >= len(parts):
        raise NotFoundError(f"this snapshot has {len(parts)} part(s); part {index} does not exist")
    part = parts[index]
    return Response(part.content, media_type="text/plain; charset=utf-8",
                    headers={"Content-Security-Policy": "sandbox; default-src 'none'",
                             "X-Source-Url": part.url.encode("ascii", "replace").decode(),
                             "X-Source-Content-Type": part.content_type.encode("ascii", "replace").decode()})


def search(request: Request) -> Response:
    data = pages.search(queries(request), request.query_params)
    data["q_text"] = data.pop("q")  # "q" is the templates' quoting function
    return _render(request, "search.html.j2", data, api=_api("/search", request))


def feed(request: Request) -> Response:
    """The Atom feed of flagged changes (?service=&category=), as the daemon's feed server serves it."""
    p = request.query_params
    category = p.get("category") or None
    recent = queries(request).feed_changes(services=p.getlist("service"), category=category, limit=FEED_ENTRIES)
    body = build_feed(recent, limit=FEED_ENTRIES, link=str(request.base_url),
                      services=tuple(p.getlist("service")), categories=(category,) if category else ())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def routes() -> list[Route]:
    return [Route("/", dashboard), Route("/services", services), Route("/search", search),
            Route("/feed.atom", feed), Route("/services/{service}", service),
            Route("/services/{service}/{type}", document),
            Route("/services/{service}/{type}/changes/{version_id:int}", change),
            Route("/services/{service}/{type}/compare", compare),
            Route("/services/{service}/{type}/versions/{version_id:int}/raw", raw_snapshot)]
