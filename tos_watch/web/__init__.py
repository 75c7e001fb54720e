"""The web view: read-only pages and a JSON API over the store's query layer.

    serve.py    bind rules (loopback, or a bearer token) and uvicorn
    app.py      the Starlette application: routes, security headers, errors
    pages.py    each page's data, built once and rendered as HTML or returned as JSON
    redline.py  a change as the page shows it: blocks, flagged clauses, evidence marks (pure)
    api.py      /api/v1 endpoints and their OpenAPI description
"""
