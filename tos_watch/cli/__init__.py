"""The `tos-watch` command: a thin layer of click commands over the pipeline.

Every expected failure (bad config, unknown document, unusable store) ends as
one line on stderr and exit status 2; tracebacks are for bugs only.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tos_watch.errors import TosWatchError

EXIT_USAGE = 2


# Each command's module, imported only when that command runs: `check` must not pay for the
# classifier's evaluation tools or the Open Terms Archive importer at every start.
COMMAND_MODULES = {
    "init": "core", "check": "core", "history": "core", "diff": "core", "reextract": "core",
    "compare": "classify_cmds", "classify": "classify_cmds", "eval": "classify_cmds",
    "import": "import_cmds", "worker": "cluster_cmds",
    "daemon": "daemon_cmds", "digest": "daemon_cmds", "feed": "daemon_cmds", "status": "daemon_cmds",
    "notify": "notify_cmds",
    "serve": "web_cmds",
}


class Group(click.Group):
    """A click group that loads its commands lazily and turns tos_watch's errors into one clear line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"tos_watch.cli.{COMMAND_MODULES[cmd_name]}")
            module.register(self)
        return self.commands.get(cmd_name)

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
