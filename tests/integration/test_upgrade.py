"""A store made by the previous release (schema 0002_delivery) opened by this one: data kept, the new
tables made (alerts, check requests, APScheduler's jobs), and the daemon starts on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.integration.test_daemon import wait_for
from tests.integration.test_digest_delivery import free_port
from tos_watch.config import StorageSettings
from tos_watch.models import Document, Source
from tos_watch.store import open_store
from tos_watch.store.delivery import DeliveryLog
from tos_watch.store.search import search
from tos_watch.store.sql import MIGRATIONS, SCHEMA_REVISION, SqlStore

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def old_store(data: Path, *, scheduler_ran: bool) -> Document:
    """Schema 0002 only, filled as the old release would: a document, two versions, a digest sent."""
    store = SqlStore(StorageSettings(dir=data))  # no migrate(): the migrations run up to 0002 below
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002_delivery")
    doc = Document("Ring", "Privacy Policy", (Source(f"http://127.0.0.1:{free_port()}/p"),))
    with store.engine.begin() as conn:  # the old release's rows, written as its schema has them
        second_id = _old_versions(conn, store, doc, [
            ("We keep your videos for 30 days.", NOW - timedelta(days=2), None),
            ("We keep your videos forever.", NOW - timedelta(days=1),
             {"severity": "high", "categories": {"retention": "broadens"}})])
    log = DeliveryLog(store.engine)
    log.register(["desk@example.org"], NOW, timedelta(days=7))
    log.sent(log.start("desk@example.org", "<m1@x>", [second_id], "smtp", NOW), NOW)
    if scheduler_ran:  # the old daemon let APScheduler make its table
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        SQLAlchemyJobStore(engine=store.engine, tablename="apscheduler_jobs").start(None, "default")  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0002_delivery"
        assert not sa.inspect(conn).has_table("alerts")
    store.close()
    return doc


def _old_versions(conn: sa.Connection, store: SqlStore, doc: Document,
                  texts: list[tuple[str, datetime, dict[str, object] | None]]) -> int:
    """Insert a document and its versions into the 0002 tables; the last version's id."""
    tables = sa.MetaData()
    tables.reflect(conn, only=["documents", "versions"])
    documents, versions = tables.tables["documents"], tables.tables["versions"]
    doc_id = conn.execute(documents.insert().values(service=doc.service, type=doc.type, url=doc.sources[0].url,
                                                    created_at=NOW - timedelta(days=3))).inserted_primary_key[0]
    previous = None
    for text, at, assessment in texts:
        previous = conn.execute(versions.insert().values(
            document_id=doc_id, recorded_at=at, text_hash=store.texts.put(text.encode()), size=len(text),
            previous_id=previous, origin="fetch", assessment=assessment)).inserted_primary_key[0]
    assert previous is not None
    return int(previous)


@pytest.mark.parametrize("scheduler_ran", [False, True])
def test_a_0002_store_is_upgraded_with_its_data_and_the_daemon_starts(tmp_path: Path, scheduler_ran: bool) -> None:
    data = tmp_path / "data"
    doc = old_store(data, scheduler_ran=scheduler_ran)
    store = open_store(StorageSettings(dir=data))
    try:
        assert store._revision() == SCHEMA_REVISION
        with store.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {"alerts", "alert_targets", "check_requests", "apscheduler_jobs"} <= tables
        assert [v.size for v in store.versions("Ring")] == [32, 28]
        assert store.versions("Ring")[1].assessment == {"severity": "high", "categories": {"retention": "broadens"}}
        assert len(DeliveryLog(store.engine).delivered("desk@example.org")) == 1
        with store.engine.connect() as conn:  # 0005: the web view's facts and search index filled from the data
            facts = conn.execute(sa.text("SELECT severity, categories FROM change_facts ORDER BY version_id")).all()
            hits = search(conn, "forever", limit=10)
        assert [tuple(f) for f in facts] == [(1, "  "), (3, " retention:broadens ")]
        assert [hit.version_id for hit in hits] == [store.versions("Ring")[1].id]
    finally:
        store.close()
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{data}"\n[fetch]\nretries = 1\nbackoff = 0.05\n'
                      f'[[subscribers]]\nemail = "desk@example.org"\n\n[[documents]]\nservice = "{doc.service}"\n'
                      f'type = "{doc.type}"\nurl = "{doc.sources[0].url}"\n')
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), "daemon"],
                                  stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        wait_for("the daemon on the upgraded store", lambda: "checked" in log.read_text(), timeout=90)
        assert "daemon started" in log.read_text() and "Traceback" not in log.read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, log.read_text()
