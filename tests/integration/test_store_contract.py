"""One contract suite, run against every store back end: SQLite and a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.support.postgres import postgres_server
from tos_watch.config import StorageSettings
from tos_watch.models import Document, RawJson, Source, Validators
from tos_watch.store import CheckRecord, CheckState, SnapshotPart, SqlStore, open_store
from tos_watch.store.sql import MIGRATIONS, SCHEMA_REVISION

RING = Document("Ring", "Privacy Policy", (Source("https://ring.com/privacy-notice"),))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    s = open_store(StorageSettings(dir=tmp_path / "data", database_url=url))
    if url:  # a fresh schema per test on the shared server
        from tos_watch.store.schema import metadata
        with s.engine.begin() as c:
            for table in reversed(metadata.sorted_tables):
                c.execute(table.delete())
    yield s
    s.close()


def check(text: str | None, at: datetime, status: str = "changed", **kw: object) -> CheckRecord:
    parts = [SnapshotPart(RING.url, f"<main>{text}</main>".encode(), "text/html")] if text else None
    return CheckRecord(RING, at, status, text=text, parts=parts, **kw)  # type: ignore[arg-type]


def test_records_versions_only_when_text_changes(store: SqlStore) -> None:
    assert store.save_check(check("one\n", T0, "first_seen")) is not None
    assert store.save_check(check("one\n", T0 + timedelta(hours=1), "unchanged")) is None
    second = store.save_check(check("two\n", T0 + timedelta(hours=2), assessment={"cosmetic": True}))
    assert second is not None and second.assessment == {"cosmetic": True}
    history = store.versions("ring", "privacy policy")
    assert [store.version_text(v) for v in history] == ["one\n", "two\n"]
    assert [v.recorded_at for v in history] == [T0, T0 + timedelta(hours=2)]


def test_an_assessment_serialised_by_the_worker_is_stored_as_is(store: SqlStore) -> None:
    """The comparison worker sends JSON text; the store keeps it without decoding, and reads it back whole."""
    assessment = {"cosmetic": False, "categories": {"licensing": "broadens"}, "severity": "high",
                  "changes": [{"old": "a license", "new": "an irrevocable, perpetual license \u00e9"}]}
    store.save_check(check("one\n", T0, "first_seen"))
    second = store.save_check(check("two\n", T0 + timedelta(hours=1), assessment=RawJson(json.dumps(assessment))))
    assert second is not None
    assert store.assessments([second.id]) == {second.id: assessment}
    assert store.versions("Ring")[-1].assessment == assessment


def test_changes_since_pairs_each_version_with_its_predecessor(store: SqlStore) -> None:
    store.save_check(check("one\n", T0, "first_seen"))
    store.save_check(check("two\n", T0 + timedelta(days=1)))
    store.save_check(check("three\n", T0 + timedelta(days=2)))
    changes = store.changes_since(T0 + timedelta(hours=12))
    assert [(store.version_text(c.previous), store.version_text(c.version)) for c in changes] == [
        ("one\n", "two\n"), ("two\n", "three\n")]
    assert [c.url for c in changes] == [RING.url] * 2


def test_validators_kept_and_cleared_after_failure(store: SqlStore) -> None:
    store.save_check(check("one\n", T0, "first_seen", validators=[Validators('"abc"', "Tue, 01 Jan 2026")]))
    assert store.check_state(RING).validators == [Validators('"abc"', "Tue, 01 Jan 2026")]
    store.save_check(CheckRecord(RING, T0 + timedelta(hours=1), "failed", error="HTTP 500"))
    assert store.check_state(RING).validators is None
    state = store.document_states()[0]
    assert (state.last_status, state.last_error, state.version_count) == ("failed", "HTTP 500", 1)


def test_record_version_is_idempotent_by_source_ref(store: SqlStore) -> None:
    first = store.record_version(RING, "a\n", T0, origin="import", source_ref="c1")
    again = store.record_version(RING, "a\n", T0, origin="import", source_ref="c1")
    later = store.record_version(RING, "b\n", T0 + timedelta(days=1), origin="import", source_ref="c2")
    same_text = store.record_version(RING, "b\n", T0 + timedelta(days=2), origin="import", source_ref="c3")
    assert first is not None and again is None and later is not None and same_text is None
    assert len(store.versions("Ring")) == 2


def test_raw_snapshot_round_trip_for_reextraction(store: SqlStore) -> None:
    store.save_check(check("one\n", T0, "first_seen"))
    snapshot = store.latest_snapshot(RING)
    assert snapshot is not None
    _id, fetched_at, parts = snapshot
    assert fetched_at == T0 and parts[0].content == b"<main>one\n</main>"
    raw_files = list((store.dir / "raw").rglob("*.z"))
    if store.engine.dialect.name == "postgresql":  # blobs in the database: machines share no disk
        from tos_watch.store.schema import raw_blobs
        with store.engine.connect() as c:
            stored = c.execute(sa.select(raw_blobs.c.data)).scalars().all()
        assert raw_files == [] and len(stored) == 1 and bytes(stored[0]) != parts[0].content  # compressed
    else:
        assert len(raw_files) == 1 and raw_files[0].read_bytes() != parts[0].content  # compressed on disk


def test_reextract_versions_are_not_changes(store: SqlStore) -> None:
    store.save_check(check("one\n", T0, "first_seen"))
    store.record_version(RING, "one, better extracted\n", T0 + timedelta(hours=1), origin="reextract")
    assert store.changes_since() == []
    assert store.latest_version(RING).origin == "reextract"  # type: ignore[union-attr]


def test_reopening_keeps_everything(store: SqlStore, tmp_path: Path) -> None:
    store.save_check(check("one\n", T0, "first_seen"))
    again = open_store(StorageSettings(dir=store.dir, database_url=str(store.engine.url.render_as_string(
        hide_password=False)) if store.engine.dialect.name != "sqlite" else None))
    assert [again.version_text(v) for v in again.versions("Ring")] == ["one\n"]
    again.close()


def test_history_imported_after_fetching_links_before_the_fetched_versions(store: SqlStore) -> None:
    store.save_check(check("fetched\n", T0, "first_seen"))
    older = store.record_version(RING, "imported\n", T0 - timedelta(days=30), origin="import", source_ref="c1")
    assert older is not None
    changes = store.changes_since()
    assert [(c.previous.id, store.version_text(c.version)) for c in changes] == [(older.id, "fetched\n")]


def test_check_states_of_many_documents_in_one_go(store: SqlStore) -> None:
    other = Document("Ring", "Terms", (Source("https://ring.com/terms"),))
    store.save_check(check("one\n", T0, "first_seen", validators=[Validators('"e1"', None)]))
    store.save_check(check("two\n", T0 + timedelta(days=1)))
    states = store.check_states([RING, other])
    assert states[RING.key].latest is not None and store.version_text(states[RING.key].latest) == "two\n"
    assert states[other.key] == CheckState(None, None, None)
    store.save_states([CheckRecord(RING, T0 + timedelta(days=2), "unchanged"),
                       CheckRecord(other, T0 + timedelta(days=2), "failed", error="HTTP 404")])
    by_type = {s.type: s for s in store.document_states()}
    assert (by_type["Privacy Policy"].last_status, by_type["Terms"].last_error) == ("unchanged", "HTTP 404")
    assert store.check_state(RING).validators == [Validators('"e1"', None)]  # kept by an unchanged check


def test_schema_revision_is_the_newest_migration() -> None:
    """`migrate` skips Alembic when the database says SCHEMA_REVISION: it must be the real head."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_an_older_database_is_still_upgraded(tmp_path: Path) -> None:
    """The quick revision check must not skip a real upgrade: downgrade one step, reopen, see the head."""
    settings = StorageSettings(dir=tmp_path / "data")
    store = open_store(settings)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001_initial")
    store.close()
    reopened = open_store(settings)
    assert reopened._revision() == SCHEMA_REVISION
    with reopened.engine.connect() as conn:
        assert sa.inspect(conn).has_table("deliveries")
    reopened.close()
