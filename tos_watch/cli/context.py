"""What every command needs: the settings, the store, and a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tos_watch.config import Settings, load_settings
from tos_watch.store import SqlStore, open_store

stderr = Console(stderr=True)


def open_settings_and_store(ctx: click.Context) -> tuple[Settings, SqlStore]:
    """Load the configuration and open its store once per command invocation."""
    obj = ctx.find_root().obj
    if "store" not in obj:
        obj["settings"] = checked(load_settings(obj["config_path"]))
        obj["store"] = open_store(obj["settings"].storage)
        ctx.call_on_close(obj["store"].close)
    return obj["settings"], obj["store"]


def settings_only(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = checked(load_settings(obj["config_path"]))
    return obj["settings"]  # type: ignore[no-any-return]


def checked(settings: Settings) -> Settings:
    """Settings whose alert channels Apprise accepts (loaded only when some are configured)."""
    if any(s.notify for s in settings.subscribers):
        from tos_watch.notify.channels import check_channels

        check_channels(settings)
    return settings


@contextmanager
def progress_bar(total: int, label: str, *, quiet: bool) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr (only on a terminal); yields the function that advances it."""
    if quiet or not stderr.is_terminal:
        yield lambda _item: None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task(label, total=total, last="")

        def advance(item: Any) -> None:
            label = getattr(getattr(item, "document", None), "label", "")
            progress.update(task, advance=1, last=label)

        yield advance
