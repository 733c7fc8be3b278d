"""Resolution of a recipe profile against a host (see legacyrun/resolution.py for the contract).

Entry points: `legacyrun.resolve.engine.resolve(loaded, host, profile=..., pins=...)`, `legacyrun.host.probe_host
/ assumed_host / host_from_flags` for the host, and `legacyrun.resolve.locking` for the lockfile. This file imports
nothing: `resolve.locking` and `resolve.match` are on the path of a no-op `up`, which must not load the resolver.
"""
