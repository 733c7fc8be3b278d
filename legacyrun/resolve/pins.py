"""`--pin NAME=VERSION` overrides: parsing, checking against the knowledge base, and what they do to a profile.

A pin replaces the profile's value for that name (a lab pins what its mirror holds). Profiles whose own specs
admit every pin are preferred; otherwise the pin still wins and the reasons say it lies outside the profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from legacyrun.errors import UsageError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import TorchRelease, minor, version_key
from legacyrun.recipe.models import Profile
from legacyrun.resolve.match import matches

PIN_NAMES = ("torch", "torchvision", "python", "cuda", "gcc")
FLAG = "--pin"


def _bad(name: str, value: str, why: str) -> UsageError:
    return UsageError(f"{FLAG} {name}={value}: {why}")


def parse_pins(values: Iterable[str]) -> dict[str, str]:
    """['torch=2.14.1', ...] from the command line -> {'torch': '2.14.1'}; UsageError naming the flag otherwise."""
    pins: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name or not value:
            raise UsageError(f"{FLAG} {raw}: expected NAME=VERSION, e.g. {FLAG} torch=2.14.1")
        if name in pins and pins[name] != value:
            raise UsageError(f"{FLAG} {name}: given twice ({pins[name]} and {value})")
        pins[name] = value
    return check_pins(pins)


def _version(name: str, value: str) -> Version:
    try:
        version = Version(value)
    except InvalidVersion:
        raise _bad(name, value, f"{value!r} is not a version") from None
    if version.local or version.is_prerelease or version.is_devrelease or version.epoch:
        raise _bad(name, value, "give a plain release number (the CPU/CUDA variant follows from the plan)")
    return version


def check_pins(pins: Mapping[str, str] | None) -> dict[str, str]:
    """Validated, normalised pins (UsageError naming --pin on an unknown name, a non-version or a mismatch)."""
    out: dict[str, str] = {}
    for name, value in sorted((pins or {}).items()):
        if name not in PIN_NAMES:
            raise _bad(name, value, f"unknown name {name!r} (one of {', '.join(PIN_NAMES)})")
        version = _version(name, value)
        parts = len(version.release)
        if name == "python" and parts != 2:
            raise _bad(name, value, "give MAJOR.MINOR, e.g. 3.11")
        if name == "gcc" and parts != 1:
            raise _bad(name, value, "give the GCC major version, e.g. 13")
        if name == "cuda" and parts not in (2, 3):
            raise _bad(name, value, "give MAJOR.MINOR, e.g. 12.8")
        out[name] = value
    if "cuda" in out and kb().driver_min(out["cuda"]) is None:
        known = kb().cudas_with_driver_facts()
        raise _bad("cuda", out["cuda"], f"not a CUDA toolkit the knowledge base knows ({known[0]} .. {known[-1]})")
    if "torch" in out:
        release = kb().torch_release(out["torch"])
        newest = kb().torch_releases[-1]
        if release is None and version_key(out["torch"]) <= newest.key:
            raise _bad(
                "torch",
                out["torch"],
                f"not a torch release the knowledge base knows ({kb().torch_releases[0].torch} .. {newest.torch}; "
                "newer ones are taken as their predecessor)",
            )
        if "torchvision" in out and release is not None and out["torchvision"] not in release.torchvisions():
            raise _bad(
                "torchvision",
                out["torchvision"],
                f"does not match torch {release.torch} (torchvision {' or '.join(release.torchvisions())})",
            )
    elif "torchvision" in out and not releases_for_torchvision(out["torchvision"]):
        raise _bad("torchvision", out["torchvision"], "no torch release in the knowledge base pairs with it")
    return out


def releases_for_torchvision(torchvision: str) -> list[TorchRelease]:
    return [r for r in kb().torch_releases if torchvision in r.torchvisions()]


@dataclass(frozen=True)
class Pinned:
    """A profile with the pins applied, and which pins lie outside the profile's own specs."""

    profile: Profile
    outside: dict[str, str | None]  # name -> the profile's own spec ('none' for torchvision none)
    follows: tuple[str, ...] = ()  # profile values dropped because they belong to the torch the pin replaced

    @property
    def admits_all(self) -> bool:
        return not self.outside


def _admits(name: str, value: str, spec: str | None) -> bool:
    if spec is None:
        return True
    if name == "torchvision" and spec == "none":
        return False
    if name == "cuda":
        return matches(minor(value), spec) or matches(value, spec)
    return matches(value, spec)


def apply_pins(prof: Profile, pins: Mapping[str, str]) -> Pinned:
    """The profile as the resolver sees it under `pins` (exact values replace the profile's specs)."""
    update: dict[str, str | None] = {}
    outside: dict[str, str | None] = {}
    for name, value in pins.items():
        spec = getattr(prof, name)
        if not _admits(name, value, spec):
            outside[name] = spec
        update[name] = minor(value) if name == "cuda" else value
    follows: list[str] = []
    if "torch" in outside:
        follows = _follow_torch(prof, pins, update)
    return Pinned(prof.model_copy(update=update), outside, tuple(follows))


def _follow_torch(prof: Profile, pins: Mapping[str, str], update: dict[str, str | None]) -> list[str]:
    """A torch pin outside the profile also replaces the profile's torchvision/CUDA/cuDNN pins made for its own
    torch (they come with a torch build); Python and GCC stay, they belong to the code."""
    torch = pins["torch"]
    release = kb().torch_release(torch)
    newest = kb().torch_releases[-1]
    cudas = (release or newest).cudas()
    notes = []
    tv = prof.torchvision
    if "torchvision" not in pins and tv not in (None, "none"):
        known = release.torchvisions() if release else ()
        if not any(matches(v, tv) for v in known):
            update["torchvision"] = None
            notes.append(f"torchvision follows the pinned torch {torch} (the profile's {tv} belongs to {prof.torch})")
    if "cuda" not in pins and prof.cuda is not None and not any(matches(c, prof.cuda) for c in cudas):
        update["cuda"] = None
        notes.append(f"CUDA follows the pinned torch {torch} (the profile's {prof.cuda} belongs to {prof.torch})")
    if prof.cudnn is not None and update.get("cuda", prof.cuda) != prof.cuda:
        update["cudnn"] = None
    return notes


def pin_reasons(pins: Mapping[str, str], pinned: Pinned) -> list[str]:
    """One reason per pin: 'torch 2.14.1 (pinned with --pin)' or '... (outside the profile's 1.9.0)'."""
    lines = []
    for name, value in sorted(pins.items()):
        if name in pinned.outside:
            lines.append(f"{name} {value} pinned with {FLAG} (outside the profile's {pinned.outside[name]})")
        else:
            lines.append(f"{name} {value} (pinned with {FLAG})")
    return lines + list(pinned.follows)


def passed_over(name: str, pinned: Pinned) -> str:
    """Why a profile earlier in the preferred order was tried after the ones that admit every pin."""
    first = sorted(pinned.outside)[0]
    spec = pinned.outside[first]
    value = getattr(pinned.profile, first)
    return f"profile {name} pins {first} {spec}, not {value} ({FLAG})"


__all__ = ["PIN_NAMES", "Pinned", "apply_pins", "check_pins", "parse_pins", "passed_over", "pin_reasons"]
