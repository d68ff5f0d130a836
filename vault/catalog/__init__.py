"""The catalog: every camera, clip, request, decision and audit entry, in SQLite."""
