"""SQL expressions over an audit entry's own bytes, shared by the tables and the log.

Lookups that must not trust the ``type`` column (which nothing hashes) search
by these; the expression indexes on them only make that fast, and SQLite
builds them from the bytes.
"""

ENTRY_TYPE = "json_extract(CAST(entry AS TEXT), '$.type')"
ENTRY_SUBJECT = "json_extract(CAST(entry AS TEXT), '$.subject')"
