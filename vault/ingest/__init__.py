"""Ingest: from a camera's drop folder to a sealed clip in the catalog."""
