"""/api/v1: the pages' data as JSON, plus texts, the version in force at a date, assessments and diffs.

Errors are {"status": n, "message": "..."} (see app.py); the OpenAPI description at
/api/v1/openapi.json is written out here, next to the routes it describes.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tos_watch import __version__
from tos_watch.web import changes, pages
from tos_watch.web.app_state import param, queries, store_of


def _json(data: Any) -> Response:
    return JSONResponse(data)


def changes_list(request: Request) -> Response:
    return _json(pages.dashboard(queries(request), request.query_params))


def services(request: Request) -> Response:
    return _json(pages.services(queries(request), request.query_params))


def service(request: Request) -> Response:
    return _json(pages.service(queries(request), param(request, "service")))


def document_versions(request: Request) -> Response:
    return _json(pages.document(queries(request), param(request, "service"), param(request, "type"),
                                request.query_params))


def _state_id(request: Request) -> int:
    return queries(request).document(param(request, "service"), param(request, "type")).id


def version(request: Request) -> Response:
    qs = queries(request)
    item = qs.change(_state_id(request), int(request.path_params["version_id"]))
    return _json(pages.change_json(item))


def version_text(request: Request) -> Response:
    qs = queries(request)
    v = qs.version(_state_id(request), int(request.path_params["version_id"]))
    return _json({**pages.version_json(v), "text": store_of(request).version_text(v)})


def version_at(request: Request) -> Response:
    """The version in force at a date (the last recorded on or before it), with its text."""
    qs = queries(request)
    when = pages.parse_date(request.path_params["date"], "date", end_of_day=True)
    v = qs.version_at(_state_id(request), when)
    return _json({**pages.version_json(v), "in_force_at": when.isoformat(), "text": store_of(request).version_text(v)})


def assessment(request: Request) -> Response:
    item = queries(request).change(_state_id(request), int(request.path_params["version_id"]))
    return _json(pages.assessment_json(item))


def diff(request: Request) -> Response:
    p = request.query_params
    return _json(changes.diff_json(queries(request), store_of(request), param(request, "service"),
                                   param(request, "type"), p.get("from"), p.get("to")))


def search(request: Request) -> Response:
    return _json(pages.search(queries(request), request.query_params))


def openapi(_request: Request) -> Response:
    return _json(OPENAPI)


DOC = "/services/{service}/{type}"


def routes() -> list[Route]:
    return [Route("/openapi.json", openapi), Route("/changes", changes_list), Route("/services", services),
            Route("/search", search), Route("/services/{service}", service),
            Route(DOC + "/versions", document_versions),
            Route(DOC + "/versions/{version_id:int}", version),
            Route(DOC + "/versions/{version_id:int}/text", version_text),
            Route(DOC + "/at/{date}", version_at),
            Route(DOC + "/changes/{version_id:int}", assessment),
            Route(DOC + "/diff", diff)]


# --- the OpenAPI description ----------------------------------------------------------------------

def _p(name: str, where: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": {"type": kind}}


_PAGING = [_p("limit", "query", f"items per page (1-{pages.MAX_PAGE_SIZE}, default {pages.PAGE_SIZE})", "integer"),
           _p("offset", "query", "items to skip", "integer")]
_DOC = [_p("service", "path", "service name, URL-quoted (case-insensitive)"),
        _p("type", "path", "document type, URL-quoted (case-insensitive)")]
_VID = [_p("version_id", "path", "a version id of this document", "integer")]
_FILTERS = [_p("service", "query", "only this service"),
            {**_p("category", "query", "only changes in this category"), "schema": {"enum": list(pages.CATEGORIES)}},
            {**_p("direction", "query", "only this direction"), "schema": {"enum": list(pages.DIRECTIONS)}},
            {**_p("severity", "query", "at least this severity"), "schema": {"enum": list(pages.SEVERITIES)}},
            _p("since", "query", "recorded on or after (YYYY-MM-DD or ISO 8601)"),
            _p("until", "query", "recorded on or before (YYYY-MM-DD: that whole day)"),
            _p("cosmetic", "query", "1 to list cosmetic changes too")]


def _op(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params, "responses": {
        "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "tos-watch", "version": __version__,
             "description": "Every recorded version of watched terms documents, what changed and what it means."},
    "paths": {
        "/api/v1/changes": _op("Recorded changes, most severe first (cosmetic ones counted, not listed)",
                               _FILTERS + _PAGING),
        "/api/v1/services": _op("Services with their document and version counts", _PAGING),
        "/api/v1/services/{service}": _op("A service's documents, each with its last check and change",
                                          _DOC[:1]),
        "/api/v1" + DOC + "/versions": _op("A document's state and its versions, newest first", _DOC + _PAGING),
        "/api/v1" + DOC + "/versions/{version_id}": _op("One version and the verdict of the change that made it",
                                                        _DOC + _VID),
        "/api/v1" + DOC + "/versions/{version_id}/text": _op("A version's text (normalised Markdown)", _DOC + _VID),
        "/api/v1" + DOC + "/at/{date}": _op("The version in force at a date, with its text",
                                            _DOC + [_p("date", "path", "YYYY-MM-DD (end of that day) or ISO 8601")]),
        "/api/v1" + DOC + "/changes/{version_id}": _op("A change's assessment, as `tos-watch check --json` gives it",
                                                       _DOC + _VID),
        "/api/v1" + DOC + "/diff": _op("The diff between two versions, as `tos-watch diff --format json` prints it",
                                       _DOC + [_p("from", "query", "version id or date (default: the one before to)"),
                                               _p("to", "query", "version id or date (default: the latest)")]),
        "/api/v1/search": _op("Full-text search over current versions",
                              [_p("q", "query", 'words; "quoted phrase" for a phrase')] + _PAGING),
    },
    "components": {"responses": {"Error": {"description": "An error", "content": {"application/json": {
        "schema": {"type": "object", "required": ["status", "message"],
                   "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}}}}},
}
