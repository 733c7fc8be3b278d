"""The per-user compiler cache of native build steps on this machine (venv, conda): ccache behind wrapper scripts.

Why wrappers and not `CC="ccache gcc"`: torch passes `$CC` to nvcc as `-ccbin`, which takes one path, and Makefiles
call `gcc`/`c++` by name. So `<env>/.legacyrun-ccache/` holds one script per compiler name (the step's CC and CXX
plus cc, c++, gcc, g++), each `exec ccache /real/compiler "$@"`, and sits on PATH right after the env's bin: the
names the build uses stay the same and resolve to the wrappers. nvcc is wrapped the same way and handed to torch as
`PYTORCH_NVCC` (CMake: `CUDA_NVCC_EXECUTABLE`); while nvcc runs, its own host-compiler calls (on temporary files)
bypass the cache, so each .cu is one cache entry.

The cache lives under the user's legacyrun cache dir (`CCACHE_DIR`, unless the user set one), shared by every
workspace: `CCACHE_BASEDIR` is the workspace, so paths inside it are hashed relative and a second workspace of the
same recipe hits the first one's objects. ccache checks the compiler (mtime/size) and the preprocessed input, so a
patch recompiles only the translation units it changes, also in an editable build whose build_temp is a new
temporary folder each time (setuptools' PEP 660 `pip install -e`), where ninja's own incremental build cannot help.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

from legacyrun.fsutil import atomic_write_text
from legacyrun.userdirs import cache_dir

WRAPPER_DIR = ".legacyrun-ccache"
# Set by the nvcc wrapper for the compilers nvcc starts: those compile nvcc's temporary files, not sources.
INSIDE_NVCC = "LEGACYRUN_CCACHE_IN_NVCC"
# LEGACYRUN_CCACHE=0 turns the cache off (ccache's own CCACHE_DISABLE=1 also works, per step through its env).
SWITCH = "LEGACYRUN_CCACHE"
GENERIC = ("cc", "c++", "gcc", "g++")


def ccache_dir() -> Path:
    return cache_dir() / "ccache"


def find_ccache() -> str | None:
    if os.environ.get(SWITCH, "1").strip().lower() in ("0", "no", "false", "off"):
        return None
    return shutil.which("ccache")


def _script(ccache: str, real: str, *, nvcc: bool) -> str:
    if nvcc:
        return (
            f"#!/bin/sh\n# legacyrun: nvcc through ccache\nexport {INSIDE_NVCC}=1\n"
            f'exec {shlex.quote(ccache)} {shlex.quote(real)} "$@"\n'
        )
    return (
        "#!/bin/sh\n# legacyrun: the compiler through ccache (not for nvcc's own host-compiler calls)\n"
        f'if [ -n "${INSIDE_NVCC}" ]; then exec {shlex.quote(real)} "$@"; fi\n'
        f'exec {shlex.quote(ccache)} {shlex.quote(real)} "$@"\n'
    )


def _write(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return  # unchanged: keep its mtime (ccache's compiler check and ninja see the same compiler)
    except OSError:
        pass
    atomic_write_text(path, text)
    path.chmod(0o755)


def _single_word(value: str | None) -> str | None:
    """The compiler named by CC/CXX when it is one word (not already `ccache gcc` or `gcc -m32`)."""
    if not value:
        return None
    words = shlex.split(value)
    if len(words) != 1 or Path(words[0]).name == "ccache":
        return None
    return words[0]


def wrap_compilers(env: dict[str, str | None], prefix: Path, workspace_root: Path, *, nvcc: str | None) -> str | None:
    """Route the step's compilers through ccache: wrappers in `<prefix>/.legacyrun-ccache`, put on env's PATH after
    the env's bin (which must already lead `env["PATH"]`), and the ccache settings. Returns a note for the log,
    or None when there is no ccache (then env is unchanged).
    """
    ccache = find_ccache()
    if ccache is None or env.get("CCACHE_DISABLE"):
        return None
    wrappers = prefix / WRAPPER_DIR
    wrappers.mkdir(exist_ok=True)
    path = env.get("PATH") or os.environ.get("PATH", "")
    search = os.pathsep.join(p for p in path.split(os.pathsep) if p != str(wrappers))
    named: dict[str, str] = {}
    for var in ("CC", "CXX"):
        word = _single_word(env.get(var))
        if word is None:
            continue
        real = shutil.which(word, path=search)
        if real is None:
            continue
        wrapper = wrappers / Path(word).name
        named[Path(word).name] = real
        if os.sep in word:
            env[var] = str(wrapper)  # an absolute compiler path is not found through PATH
    for name in GENERIC:
        real = shutil.which(name, path=search)
        if real is not None:
            named.setdefault(name, real)
    for name, real in sorted(named.items()):
        _write(wrappers / name, _script(ccache, real, nvcc=False))
    if nvcc:
        nvcc_wrapper = wrappers / "nvcc"
        _write(nvcc_wrapper, _script(ccache, nvcc, nvcc=True))
        env["PYTORCH_NVCC"] = str(nvcc_wrapper)
        env["CUDA_NVCC_EXECUTABLE"] = str(nvcc_wrapper)
    parts = search.split(os.pathsep)
    head = [parts[0]] if parts and parts[0] == str(prefix / "bin") else []
    env["PATH"] = os.pathsep.join([*head, str(wrappers), *parts[len(head) :]])
    if not os.environ.get("CCACHE_DIR"):
        env["CCACHE_DIR"] = str(ccache_dir())
    env.setdefault("CCACHE_BASEDIR", str(workspace_root))
    # torch (2.14 here) prepends ccache to its compilers itself when it is on PATH: with the wrappers that would cache
    # every object twice. One mechanism for every build (setuptools, make, cpp_extension) is the wrappers.
    env.setdefault("TORCH_NO_COMPILER_WRAPPER", "1")
    # Without this, a build with -g hashes the working directory, and another workspace never hits.
    env.setdefault("CCACHE_NOHASHDIR", "1")
    return f"compiler cache: ccache ({env.get('CCACHE_DIR') or os.environ.get('CCACHE_DIR')})"


def cache_settings(env: Mapping[str, str | None]) -> str:
    """The ccache settings shown in a step log's header ('' without the cache)."""
    return " ".join(f"{k}={env[k]}" for k in ("CCACHE_DIR", "PYTORCH_NVCC") if env.get(k))


__all__ = ["INSIDE_NVCC", "SWITCH", "WRAPPER_DIR", "cache_settings", "ccache_dir", "find_ccache", "wrap_compilers"]
