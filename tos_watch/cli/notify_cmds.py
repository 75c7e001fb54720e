"""`tos-watch notify --test WHO`: one test message on each of a subscriber's alert channels."""

from __future__ import annotations

import sys

import click

from tos_watch.cli.context import settings_only
from tos_watch.errors import ConfigError, NotFoundError


@click.command()
@click.option("--test", "who", required=True, metavar="EMAIL",
              help="The subscriber (e-mail, or name for an alert-only subscriber) whose channels to test.")
@click.pass_context
def notify(ctx: click.Context, who: str) -> None:
    """Send a test message to each of a subscriber's channels and say which worked (exit 1 if any failed)."""
    from tos_watch.notify.alerts import send_test
    from tos_watch.notify.channels import find_subscriber
    from tos_watch.notify.deliver import make_sender

    settings = settings_only(ctx)
    sub = find_subscriber(settings, who)
    if sub is None:
        known = ", ".join(s.key for s in settings.subscribers) or "none configured"
        raise NotFoundError(f'no subscriber "{who}" in the configuration (subscribers: {known})')
    results = send_test(settings, sub, make_sender(settings) if sub.email else None)
    if not results:
        raise ConfigError(f'subscriber "{who}" has no channels')
    for channel, error in results:
        click.echo(f"{channel.display}: " + ("ok" if error is None else f"FAILED: {error}"))
    sys.exit(1 if any(error is not None for _, error in results) else 0)


def register(group: click.Group) -> None:
    group.add_command(notify)
