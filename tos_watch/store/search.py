"""Full-text search over the current version of every document: the index and its queries.

One row per document in `search_index`, holding its current text: an FTS5 table on
SQLite, a table with a generated tsvector and a GIN index on PostgreSQL. The dialect
differences live here only. The index is written in the same transaction that records
a version, so it is never behind the versions table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Markers around matched words in a passage: control characters that page text (normalised
# Markdown) never holds, so the web view can escape the passage and then mark the matches.
MATCH_START, MATCH_END = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchHit:
    service: str
    type: str
    version_id: int
    passage: str  # plain text with MATCH_START/MATCH_END around matched words


def create_index(conn: Connection) -> None:
    """The index table (used by the 0005_search migration)."""
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
                             "document_id UNINDEXED, version_id UNINDEXED, body, tokenize='unicode61')"))
    else:
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS search_index (document_id integer PRIMARY KEY, "
            "version_id integer NOT NULL, body text NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)"))
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_search_index_tsv ON search_index USING gin (tsv)"))


def drop_index(conn: Connection) -> None:
    conn.execute(sa.text("DROP TABLE IF EXISTS search_index"))


def index_current(conn: Connection, document_id: int, version_id: int, text: str) -> None:
    """Make `text` the document's indexed current text (replacing the previous one)."""
    conn.execute(sa.text("DELETE FROM search_index WHERE document_id = :d"), {"d": document_id})
    conn.execute(sa.text("INSERT INTO search_index (document_id, version_id, body) VALUES (:d, :v, :b)"),
                 {"d": document_id, "v": version_id, "b": text})


def fts5_query(q: str) -> str:
    """A user's words as an FTS5 query: quoted phrases kept, other words ANDed, no operators.

    Quoting every word means no input is an FTS5 syntax error ("NEAR(", "a*", "-x").
    """
    parts: list[str] = []
    for i, chunk in enumerate(q.split('"')):
        words = _WORD.findall(chunk)
        if not words:
            continue
        if i % 2:  # inside quotes: one phrase
            parts.append('"' + " ".join(words) + '"')
        else:
            parts.extend(f'"{w}"' for w in words)
    return " ".join(parts)


def search(conn: Connection, q: str, *, limit: int, offset: int = 0) -> list[SearchHit]:
    """Documents whose current text matches, best first, each with one matching passage."""
    if conn.dialect.name == "sqlite":
        query = fts5_query(q)
        if not query:
            return []
        sql = ("SELECT d.service, d.type, s.version_id, "
               f"snippet(search_index, 2, '{MATCH_START}', '{MATCH_END}', '…', 24) AS passage "
               "FROM search_index s JOIN documents d ON d.id = s.document_id "
               "WHERE search_index MATCH :q ORDER BY rank, d.service, d.type LIMIT :limit OFFSET :offset")
    else:
        query = q.strip()
        if not _WORD.search(query):
            return []
        sql = ("SELECT d.service, d.type, s.version_id, ts_headline('english', s.body, "
               "websearch_to_tsquery('english', :q), "
               f"'StartSel=\"{MATCH_START}\", StopSel=\"{MATCH_END}\", MaxWords=35, MinWords=15') AS passage "
               "FROM search_index s JOIN documents d ON d.id = s.document_id "
               "WHERE s.tsv @@ websearch_to_tsquery('english', :q) "
               "ORDER BY ts_rank(s.tsv, websearch_to_tsquery('english', :q)) DESC, d.service, d.type "
               "LIMIT :limit OFFSET :offset")
    rows: list[Any] = list(conn.execute(sa.text(sql), {"q": query, "limit": limit, "offset": offset}))
    return [SearchHit(r.service, r.type, int(r.version_id), r.passage or "") for r in rows]
