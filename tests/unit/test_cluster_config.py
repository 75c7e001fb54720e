"""[queue] and [storage] blobs: parsed and validated at load, one ConfigError each."""

from __future__ import annotations

import pytest

from tos_watch.config import parse_settings
from tos_watch.errors import ConfigError

PG = {"database_url": "postgresql+psycopg://tos@db/tos"}


def test_queue_defaults_to_the_store_database_in_libpq_form() -> None:
    settings = parse_settings({"storage": PG, "queue": {}})
    assert settings.queue is not None
    assert settings.queue.url == "postgresql://tos@db/tos" and settings.queue.stalled_after == 30
    assert settings.storage.blobs_in_database  # no shared disk: blobs go to PostgreSQL
    assert parse_settings({}).queue is None and not parse_settings({}).storage.blobs_in_database


@pytest.mark.parametrize(("raw", "message"), [
    ({"queue": {}}, "needs a PostgreSQL store"),
    ({"storage": PG, "queue": {"url": "redis://localhost"}}, "must be a PostgreSQL address"),
    ({"storage": PG, "queue": {"stalled_after": 0}}, "must be positive"),
    ({"storage": PG, "queue": {"urll": "x"}}, 'did you mean "url"'),
    ({"storage": {**PG, "blobs": "s3"}}, 'blobs must be "files" or "database"'),
])
def test_bad_queue_config_is_one_clear_error(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw)


def test_files_can_be_kept_on_a_postgresql_store() -> None:
    assert not parse_settings({"storage": {**PG, "blobs": "files"}}).storage.blobs_in_database
