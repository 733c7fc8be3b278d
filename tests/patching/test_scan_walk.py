"""What scan reads: one pass per file, VCS/binary/huge files skipped, the keyword prefilter never hides a site."""

from __future__ import annotations

from pathlib import Path

from patching.catalog_fixtures.fixtures import load_fixtures

from legacyrun.patching.catalog import TargetVersions, get_rules, scan
from legacyrun.patching.catalog.engine import MAX_BYTES
from legacyrun.patching.catalog.scanner import scan_text


def test_prefilter_never_hides_a_site() -> None:
    # For every fixture and every rule whose globs match it, scan_text (keywords first) must report exactly the
    # detect regex's own matches.
    for fx in load_fixtures():
        for rule in get_rules():
            if not rule.matches_file(fx.file):
                continue
            if rule.requires_re is not None and not rule.requires_re.search(fx.before):
                continue
            raw = [m.start() for m in rule.detect_re.finditer(fx.before)]
            got = scan_text(fx.file, fx.before, [rule])
            assert len(got) == len(raw), (fx.name, rule.id)


def test_skips_git_binary_huge_and_symlinks(tmp_path: Path) -> None:
    line = "x = np.float(1)\n"
    (tmp_path / "ok.py").write_text(line, encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hook.py").write_text(line, encoding="utf-8")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n", encoding="utf-8")
    (tmp_path / "venv" / "lib.py").write_text(line, encoding="utf-8")
    (tmp_path / "blob.py").write_bytes(b"\0\1" + line.encode())
    (tmp_path / "huge.py").write_text(line * (MAX_BYTES // len(line) + 1), encoding="utf-8")
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1") + line.encode())
    (tmp_path / "link.py").symlink_to(tmp_path / "ok.py")
    found = scan(tmp_path, TargetVersions("2.1"))
    assert [(f.path, f.rule_id) for f in found] == [("ok.py", "py-numpy-builtin-aliases")]


def test_single_file_and_globs(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("RUN python setup.py develop\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("RUN python setup.py develop\n", encoding="utf-8")
    found = scan(tmp_path)
    assert {f.path for f in found} == {"Dockerfile"}
    one = scan(tmp_path / "Dockerfile", rule_ids=["sh-force-cuda-build"])
    assert [(f.path, f.line, f.column, f.auto_fixable) for f in one] == [("Dockerfile", 1, 1, True)]


def test_parallel_scan_matches_serial(tmp_path: Path, monkeypatch: object) -> None:
    import legacyrun.patching.catalog.scanner as scan_mod

    for i in range(40):
        (tmp_path / f"m{i}.py").write_text(f"import numpy as np\nv{i} = np.float(loss.data[0])\n", encoding="utf-8")
    serial = scan(tmp_path)
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 10)  # type: ignore[attr-defined]
    assert scan(tmp_path) == serial
    assert len(serial) == 80
