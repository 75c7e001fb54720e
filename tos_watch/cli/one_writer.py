"""One writer per store: `check` takes the daemon's lock, or hands the check to the running daemon.

Why a lock and not per-document locks shared between processes: the daemon's lock already
exists (daemon.instance_lock), is dropped by the kernel when its holder dies, and covers
everything a check writes after its fetch (the version, the alerts it sends), not only the
version row. A `check` while the daemon runs refuses in one line and points at
`--via-daemon`, which queues the check in the store for the daemon's next pass (a few
seconds), so the user still gets an immediate check and its outcome. A daemon started
during a `check` waits for it to finish instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any

import click

from tos_watch.config import Settings
from tos_watch.errors import StoreError

VIA_DAEMON_TIMEOUT = 600.0


@contextmanager
def sole_writer(settings: Settings, store: Any) -> Iterator[None]:
    """Hold the data directory's lock for a check, then send the alerts it made due."""
    from tos_watch.daemon import instance_lock, lock_holder

    holder = lock_holder(settings.storage.dir)
    if holder is not None:
        raise StoreError(_busy(settings, holder))
    with ExitStack() as stack:
        try:
            stack.enter_context(instance_lock(settings.storage.dir, purpose="check"))
        except StoreError:  # taken between the look and the lock
            raise StoreError(_busy(settings, lock_holder(settings.storage.dir) or "another process")) from None
        yield
        send_due_alerts(settings, store)


def _busy(settings: Settings, holder: str) -> str:
    hint = ("`tos-watch check --via-daemon` asks it to check now" if "daemon" in holder
            else "wait for it to finish")
    return f"{settings.storage.dir} is in use by {holder}; one writer per store: {hint}"


def send_due_alerts(settings: Settings, store: Any) -> None:
    """`check` on its own sends the alerts it made due (it holds the lock); a failure waits for a retry."""
    from tos_watch.notify.alerts import send_alerts
    from tos_watch.notify.channels import alerting
    from tos_watch.notify.deliver import make_sender
    from tos_watch.store.alerts import AlertLog

    if not alerting(settings):
        return
    AlertLog(store.engine).resolve_interrupted(datetime.now(timezone.utc))
    for r in send_alerts(settings, store, make_sender(settings)):
        where = f"alert v{r.version_id} to {r.subscriber} via {r.channel}"
        click.echo(f"{where}: sent" if r.status == "sent" else
                   f"{where}: failed ({r.detail}); retried by the daemon or the next check", err=True)


def check_via_daemon(settings: Settings, store: Any, services: list[str] | None) -> int:
    """Queue a check for the running daemon, wait for its outcome, print it; the exit status."""
    from tos_watch import check_requests
    from tos_watch.daemon import lock_holder

    holder = lock_holder(settings.storage.dir)
    if holder is None or "daemon" not in holder:
        raise StoreError(f"no daemon is running on {settings.storage.dir}; run `tos-watch check` instead")
    request = check_requests.ask(store.engine, services)
    click.echo(f"asked {holder} to check {', '.join(services) if services else 'every document'} now", err=True)
    outcomes = check_requests.wait(store.engine, request, VIA_DAEMON_TIMEOUT,
                                   lambda: lock_holder(settings.storage.dir) is not None)
    for o in outcomes:
        click.echo(f"{o['service']} / {o['type']}: {o['status']}" + (f" ({o['error']})" if o.get("error") else ""))
    return 1 if any(o["status"] == "failed" for o in outcomes) else 0
