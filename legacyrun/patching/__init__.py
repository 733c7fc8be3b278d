"""Patching: the catalog of forward-port rules (and the git-backed patch engine)."""
