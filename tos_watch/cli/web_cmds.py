"""`tos-watch serve`: the web view and its JSON API, read-only, in the foreground."""

from __future__ import annotations

import click

from tos_watch.cli.context import open_settings_and_store


@click.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [web] port, 8421; 0 picks a free one).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web view: the dashboard, each document's history, every change, search, /api/v1."""
    from tos_watch.web.serve import bind, make_server, url_of

    settings, store = open_settings_and_store(ctx)
    host = host or settings.web.host
    server = make_server(store, settings.web, host)  # refuses a public address without a token first
    sock = bind(host, settings.web.port if port is None else port)
    click.echo(f"serving the web view at {url_of(sock)} (Ctrl-C stops)", color=False)
    server.run(sockets=[sock])


def register(group: click.Group) -> None:
    group.add_command(serve)
