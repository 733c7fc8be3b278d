"""Where a source's patches start: the recipe's commit, or the pristine commit of a work tree made from a package
release file. Kept apart from fetch/pypi.py (index pages, downloads) so the patch engine's import stays light: a
no-op `up` reads this on every run."""

from __future__ import annotations

from pathlib import Path

from legacyrun.gitcli import GitRepo
from legacyrun.recipe.models import Source

PRISTINE_REF = "refs/legacyrun/pristine"
SHA_KEY = "legacyrun.pypi-sha256"  # git config of the work tree: which file it was made from


def existing_release(path: Path, sha256: str) -> str | None:
    """The pristine commit when `path` is a work tree made from the file with this sha256, else None."""
    repo = GitRepo(path)
    if not path.is_dir() or not repo.is_repo():
        return None
    done = repo.run("config", "--get", SHA_KEY, check=False)
    if not done.ok or done.stdout.strip() != sha256:
        return None
    return repo.rev(PRISTINE_REF)


def pinned_commit(source: Source, path: Path) -> str:
    """The commit patches start from: the recipe's commit, or the pristine commit of a package's work tree.

    Before a package source is fetched there is no commit yet; the ref name stands in, and the engine's own
    "not a git work tree" check then asks for `legacyrun fetch`."""
    if source.commit is not None:
        return source.commit
    return (existing_release(path, source.pypi.sha256) if source.pypi else None) or PRISTINE_REF
