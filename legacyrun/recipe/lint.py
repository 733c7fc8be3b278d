"""Located warnings about recipes that load fine but are not locked all the way down (`recipe validate` prints
them; they never fail a load).

- A build step that runs `pip install` without `--no-deps`: pip resolves the package's dependencies when the step
  runs, outside the requirement set the backends resolve and hash-pin at lock time, so two builds of one lock may
  get different packages. The fix: add `--no-deps` and list the package's install_requires in the profile's `pip`.
"""

from __future__ import annotations

from collections.abc import Sequence

from legacyrun.recipe.loader import LoadedRecipe, _compose, _Construct, _position, dotted


def runs_pip_install(argv: Sequence[str]) -> bool:
    """`pip install ...`, `pip3 install ...`, `python -m pip install ...` (any path to the executables)."""
    words = [a.rsplit("/", 1)[-1] for a in argv]
    for i, word in enumerate(words):
        if word in ("pip", "pip3") or (word.startswith("pip3.") and word[5:].isdigit()):
            return "install" in words[i + 1 : i + 2]
    return False


def pip_without_no_deps(argv: Sequence[str]) -> bool:
    return runs_pip_install(argv) and "--no-deps" not in argv


def recipe_warnings(loaded: LoadedRecipe) -> list[str]:
    """`FILE:LINE:COL: field.path: warning: message` lines, in file order."""
    display = str(loaded.path)
    builder = _Construct(display)
    root = _compose(loaded.text, display)
    if root is not None:
        builder.build(root, ())  # positions only: the text already loaded, so this cannot fail
    out: list[tuple[tuple[int, int], str]] = []
    for name, profile in loaded.recipe.env.profiles.items():
        for i, step in enumerate(profile.build):
            if pip_without_no_deps(step.argv):
                loc = ("env", "profiles", name, "build", i, "argv")
                # At the `argv:` key, where a block list's first item may be a line below.
                line, col = builder.key_positions.get(loc) or _position(builder.positions, loc)
                out.append(
                    (
                        (line, col),
                        f"{display}:{line}:{col}: {dotted(loc)}: warning: build step {step.name} runs `pip install` "
                        "without --no-deps, so its dependencies are resolved at build time, outside the hash-pinned "
                        f"set; add --no-deps and list what it requires in env.profiles.{name}.pip",
                    )
                )
    return [text for _, text in sorted(out)]


__all__ = ["pip_without_no_deps", "recipe_warnings", "runs_pip_install"]
