"""The pure-Python PNG and baseline JPEG encoders, checked by real decoders (Pillow, and OpenCV when present)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from support.smoke_data import run_decoder

from legacyrun.smoke import jpeg
from legacyrun.smoke.png import encode_png, stored_zlib
from legacyrun.smoke.raster import Canvas, Rng


def _ac_symbols() -> set[int]:
    return {0x00, 0xF0} | {(run << 4) | size for run in range(16) for size in range(1, 11)}


@pytest.mark.parametrize("table", [jpeg._AC_LUMA, jpeg._AC_CHROMA])
def test_ac_tables_hold_every_symbol_once(table: jpeg.HuffTable) -> None:
    counts, symbols = table
    assert sum(counts) == len(symbols) == 162
    assert set(symbols) == _ac_symbols()


@pytest.mark.parametrize("table", [jpeg._DC_LUMA, jpeg._DC_CHROMA])
def test_dc_tables(table: jpeg.HuffTable) -> None:
    counts, symbols = table
    assert sum(counts) == len(symbols) == 12


def test_huffman_codes_are_prefix_free() -> None:
    for table in (jpeg._DC_LUMA, jpeg._DC_CHROMA, jpeg._AC_LUMA, jpeg._AC_CHROMA):
        codes = [format(c, f"0{n}b") for c, n in jpeg._codes(table).values()]
        assert not any(a != b and b.startswith(a) for a in codes for b in codes)
        assert all(set(c) != {"1"} for c in codes)  # no all-ones code (T.81 C.2)


def test_zigzag_order() -> None:
    assert sorted(jpeg.ZIGZAG) == list(range(64))
    assert jpeg.ZIGZAG[:10] == (0, 1, 8, 16, 9, 2, 3, 10, 17, 24)
    assert jpeg.ZIGZAG[-4:] == (47, 55, 62, 63)


def test_quality_scaling() -> None:
    assert jpeg.scaled_table(jpeg._Q_LUMA, 50) == jpeg._Q_LUMA
    assert jpeg.scaled_table(jpeg._Q_LUMA, 100) == (1,) * 64
    with pytest.raises(ValueError):
        jpeg.scaled_table(jpeg._Q_LUMA, 0)


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 140_000])
def test_stored_zlib_round_trips(size: int) -> None:
    data = bytes((i * 7) % 251 for i in range(size))
    assert zlib.decompress(stored_zlib(data)) == data


def test_encoders_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        encode_png(2, 2, b"\x00" * 3, mode="L")
    with pytest.raises(ValueError):
        encode_png(2, 2, b"\x05" * 4, mode="P", palette=[(0, 0, 0)])
    with pytest.raises(ValueError):
        jpeg.encode_jpeg(2, 2, b"\x00" * 5)


def _test_images(tmp: Path) -> dict[str, bytes]:
    """Written images and the raw pixels each should decode to."""
    rng = Rng(7)
    w, h = 37, 21  # not a multiple of 8: partial blocks at the right and bottom edges
    rgb = Canvas(w, h, 3)
    rgb.background(rng)
    rgb.fill_polygon([(3, 2), (30, 5), (12, 19)], (200, 40, 60))
    gray = Canvas(w, h, 1)
    gray.background(rng)
    labels = Canvas(w, h, 1, 0)
    labels.fill_rect(4, 4, 20, 15, 3)
    labels.fill_rect(10, 1, 30, 8, 150)
    palette = [(k, 255 - k, (k * 7) % 256) for k in range(151)]
    files = {
        "rgb.png": (rgb.png(), rgb.data),
        "gray.png": (gray.png(), gray.data),
        "labels.png": (labels.png(), labels.data),
        "palette.png": (labels.png(palette=palette), labels.data),
        "rgb.jpg": (rgb.jpeg(), rgb.data),
        "gray.jpg": (gray.jpeg(), gray.data),
    }
    raw = {}
    for name, (data, pixels) in files.items():
        (tmp / name).write_bytes(data)
        (tmp / f"{name}.raw").write_bytes(bytes(pixels))
        raw[name] = bytes(pixels)
    return raw


_DECODE = r"""
import hashlib, json, sys
from pathlib import Path
from PIL import Image
try:
    import cv2
except ImportError:
    cv2 = None
out = {}
for p in sorted(Path(sys.argv[1]).glob("*.*g")):
    im = Image.open(p)
    im.load()
    raw = (p.parent / (p.name + ".raw")).read_bytes()
    data = im.tobytes()  # palette images: the indices
    err = sum(abs(a - b) for a, b in zip(data, raw)) / max(1, len(raw))
    info = {"format": im.format, "mode": im.mode, "size": list(im.size), "mean_abs_err": err,
            "exact": data == raw, "palette": len(im.getpalette() or []) // 3 if im.mode == "P" else None}
    if cv2 is not None:
        info["cv2_shape"] = list(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape)
    out[p.name] = info
print(json.dumps(out))
"""


def test_real_decoders_read_what_we_write(decoder: Path, tmp_path: Path) -> None:
    raw = _test_images(tmp_path)
    got = run_decoder(_DECODE, str(tmp_path), python=str(decoder))
    assert set(got) == set(raw)
    for name in ("rgb.png", "gray.png", "labels.png", "palette.png"):
        assert got[name]["format"] == "PNG" and got[name]["exact"], name
    assert got["rgb.png"]["mode"] == "RGB"
    assert got["gray.png"]["mode"] == got["labels.png"]["mode"] == "L"
    assert got["palette.png"]["mode"] == "P" and got["palette.png"]["palette"] == 151
    for name, mode in (("rgb.jpg", "RGB"), ("gray.jpg", "L")):
        assert got[name]["format"] == "JPEG" and got[name]["mode"] == mode
        assert got[name]["size"] == [37, 21]
        # Quality 90 on a noisy source: Pillow's own 4:4:4 encoder at quality 90 is as far off (about 3.7).
        assert got[name]["mean_abs_err"] < 5.0, got[name]
    for info in got.values():
        if "cv2_shape" in info:
            assert info["cv2_shape"][:2] == [21, 37]


def test_encoders_are_deterministic(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        _test_images(tmp_path / sub)
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
