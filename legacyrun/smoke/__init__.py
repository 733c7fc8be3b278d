"""Smoke datasets: a few tiny, deterministic samples in a real dataset's on-disk layout.

`legacyrun up RECIPE --smoke` writes them under `<workspace>/smoke/` and runs the task on them, which proves an
environment in minutes, before a 40 GB download. Pure Python (no numpy, no Pillow): images are written by the
PNG and baseline JPEG encoders in this package.
"""

from legacyrun.smoke.core import MARKER, Generator, Option, OptionValue, SmokeResult, read_marker
from legacyrun.smoke.registry import generate, generators, get, parse_option_args

__all__ = [
    "MARKER",
    "Generator",
    "Option",
    "OptionValue",
    "SmokeResult",
    "generate",
    "generators",
    "get",
    "parse_option_args",
    "read_marker",
]
