"""Resolution of a recipe profile against a host (see model.py for the contract)."""

from legacyrun.resolve.model import GpuInfo, HostInfo, Resolution

__all__ = ["GpuInfo", "HostInfo", "Resolution"]
