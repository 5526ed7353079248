"""Persistence: the SQLite catalog, records, artifact layout and files, leases."""
