"""Patching: the git-backed patch engine, rule kinds (regex, diff, catalog), the catalog and GPU-count adaptation."""
