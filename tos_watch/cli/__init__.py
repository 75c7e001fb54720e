"""The `tos-watch` command: a thin layer of click commands over the pipeline.

Every expected failure (bad config, unknown document, unusable store) ends as
one line on stderr and exit status 2; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tos_watch.errors import TosWatchError

EXIT_USAGE = 2


class Group(click.Group):
    """A click group that turns tos_watch's own errors into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TosWatchError as exc:
            click.echo(f"tos-watch: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Watchlist and settings (default: $TOS_WATCH_CONFIG, else ./tos-watch.toml).")
@click.version_option(package_name="tos-watch")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Watch terms documents, keep every version, and flag what changed."""
    ctx.obj = {"config_path": config_path}


# --- command modules: each registers its commands here -------------------------
from tos_watch.cli import classify_cmds, core, daemon_cmds, import_cmds  # noqa: E402

for _module in (core, classify_cmds, import_cmds, daemon_cmds):
    _module.register(main)
