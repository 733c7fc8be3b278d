"""kitti-stereo: KITTI raw synchronized stereo sequences, as monodepth2 and FeatDepth read them."""

from __future__ import annotations

import io
import math
import struct
import zipfile
from collections.abc import Mapping

from legacyrun.smoke.core import SEED, Generator, Option, OptionValue, Output
from legacyrun.smoke.raster import Canvas, Rng

DATE = "2011_09_26"
BASELINE = 0.54  # metres between the colour cameras 02 and 03
CAMERA_HEIGHT = 1.65  # metres above the road
FORWARD_PER_FRAME = 0.8  # metres the car moves between frames (about 8 m/s at 10 Hz)
MAX_DEPTH = 80.0  # the evaluation's cap; farther ground is written as 0 (no measurement)
# Camera x offsets of cameras 00..03 relative to 00, as in the KITTI rig (grey pair, colour pair).
_CAM_X = (0.0, -0.54, 0.06, -0.48)
_EXTS = ("jpg", "png")


def _e(values: list[float]) -> str:
    return " ".join(f"{v:e}" for v in values)


def _intrinsics(width: int, height: int) -> tuple[float, float, float, float]:
    # The normalised K of monodepth2/FeatDepth's KITTIDataset (fx = 0.58 W, fy = 1.92 H), so calibration files
    # and the loaders' built-in intrinsics agree.
    return 0.58 * width, 1.92 * height, 0.5 * width, 0.5 * height


def _calib_cam_to_cam(width: int, height: int) -> str:
    fx, fy, cx, cy = _intrinsics(width, height)
    ident = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    lines = ["calib_time: 09-Jan-2012 13:57:47", "corner_dist: 9.950000e-02"]
    for cam, tx in enumerate(_CAM_X):
        k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        lines += [
            f"S_0{cam}: {_e([width, height])}",
            f"K_0{cam}: {_e(k)}",
            f"D_0{cam}: {_e([0.0] * 5)}",
            f"R_0{cam}: {_e(ident)}",
            f"T_0{cam}: {_e([tx, 0.0, 0.0])}",
            f"S_rect_0{cam}: {_e([width, height])}",
            f"R_rect_0{cam}: {_e(ident)}",
            f"P_rect_0{cam}: {_e([fx, 0.0, cx, fx * tx, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])}",
        ]
    return "\n".join(lines) + "\n"


def _calib_velo_to_cam() -> str:
    # Velodyne axes (x forward, y left, z up) to camera axes (x right, y down, z forward), KITTI's mounting.
    rot = [0.0, -1.0, 0.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0]
    return (
        "calib_time: 15-Mar-2012 11:37:16\n"
        f"R: {_e(rot)}\n"
        f"T: {_e([-4.069766e-03, -7.631618e-02, -2.717806e-01])}\n"
        f"delta_f: {_e([0.0, 0.0])}\n"
        f"delta_c: {_e([0.0, 0.0])}\n"
    )


def _calib_imu_to_velo() -> str:
    ident = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    return f"calib_time: 25-May-2012 16:47:16\nR: {_e(ident)}\nT: {_e([-8.086759e-01, 3.195559e-01, -7.997231e-01])}\n"


class _Scene:
    """Boxes standing on a textured road, seen by a camera moving forward: the same world for both cameras and
    every frame, so stereo and temporal photometric losses have something consistent to match."""

    def __init__(self, rng: Rng, seed: int, drive: int) -> None:
        self.seed = seed
        self.drive = drive
        self.objects = []
        for _ in range(rng.between(3, 6)):
            self.objects.append(
                (
                    (rng.unit() - 0.5) * 12.0,  # x (m)
                    8.0 + rng.unit() * 30.0,  # z at frame 0 (m)
                    0.8 + rng.unit() * 1.6,  # width (m)
                    0.8 + rng.unit() * 1.4,  # height (m)
                    rng.color(),
                )
            )
        self._cells: dict[tuple[int, int], int] = {}

    def _ground(self, xw: float, zw: float) -> tuple[int, int, int]:
        if abs(xw) < 0.08 and math.floor(zw / 2.0) % 2 == 0:
            return (225, 225, 210)  # dashed centre line
        cell = (math.floor(xw * 2.0), math.floor(zw * 2.0))
        if cell not in self._cells:
            self._cells[cell] = 70 + Rng(self.seed, self.drive, cell[0] & 0xFFFF, cell[1] & 0xFFFF).below(60)
        g = self._cells[cell]
        return (g, g, g + 8)

    def render(self, width: int, height: int, frame: int, cam_x: float) -> tuple[Canvas, list[float]]:
        """The image seen by a camera at x = cam_x at `frame`, and its depth map (0 where unknown)."""
        fx, fy, cx, cy = _intrinsics(width, height)
        travelled = frame * FORWARD_PER_FRAME
        canvas = Canvas(width, height, 3)
        depth = [0.0] * (width * height)
        for v in range(height):
            dy = v + 0.5 - cy
            for u in range(width):
                if dy <= 0.5:
                    t = max(0.0, (v + 0.5) / max(1.0, cy))
                    canvas.set(u, v, (int(110 + 60 * t), int(150 + 50 * t), 235))  # sky, no depth
                    continue
                z = fy * CAMERA_HEIGHT / dy
                xw = (u + 0.5 - cx) * z / fx + cam_x
                canvas.set(u, v, self._ground(xw, z + travelled))
                depth[v * width + u] = z if z <= MAX_DEPTH else 0.0
        # Far to near, so nearer boxes cover farther ones.
        for x, z0, w, h, color in sorted(self.objects, key=lambda o: -(o[1])):
            z = z0 - travelled
            if z < 2.0:
                continue
            u0 = math.floor(cx + fx * (x - w / 2 - cam_x) / z)
            u1 = math.ceil(cx + fx * (x + w / 2 - cam_x) / z)
            v0 = math.floor(cy + fy * (CAMERA_HEIGHT - h) / z)
            v1 = math.ceil(cy + fy * CAMERA_HEIGHT / z)
            for v in range(max(0, v0), min(height, v1)):
                for u in range(max(0, u0), min(width, u1)):
                    shade = 18 if (u - u0) * 3 < (u1 - u0) else 0  # a lit side: texture inside the box
                    canvas.set(u, v, tuple(min(255, c + shade) for c in color))
                    depth[v * width + u] = z
        return canvas, depth


def _npy_f4(shape: tuple[int, ...], values: list[float]) -> bytes:
    """A .npy (format 1.0) little-endian float32 array."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header += " " * (pad % 64) + "\n"
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(header))
        + header.encode("latin1")
        + struct.pack(f"<{len(values)}f", *values)
    )


def _npz(arrays: dict[str, bytes]) -> bytes:
    """An uncompressed .npz (what numpy.savez writes) with fixed timestamps, so the bytes are reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _timestamps(frames: int, drive: int) -> str:
    lines = []
    for f in range(frames):
        ns = 964389445 + f * 103_600_000 + drive * 7_000_000
        sec = 25 + ns // 1_000_000_000
        lines.append(f"2011-09-26 13:{2 + drive:02d}:{sec:02d}.{ns % 1_000_000_000:09d}")
    return "\n".join(lines) + "\n"


def _velodyne(rng: Rng, points: int) -> bytes:
    """x, y, z, reflectance float32 points on the road ahead (Velodyne frame, 1.73 m above the road)."""
    values: list[float] = []
    for _ in range(points):
        values += [4.0 + rng.unit() * 36.0, (rng.unit() - 0.5) * 16.0, -1.73, rng.unit()]
    return struct.pack(f"<{len(values)}f", *values)


def _write(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is the KITTI raw data root, the loaders' data_path)::

        2011_09_26/calib_cam_to_cam.txt            S/K/D/R/T and S_rect/R_rect/P_rect for cameras 00..03,
        2011_09_26/calib_velo_to_cam.txt           scaled to the smoke image size (fx = 0.58 W, fy = 1.92 H)
        2011_09_26/calib_imu_to_velo.txt
        2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000000.jpg ...   left colour camera
        2011_09_26/2011_09_26_drive_0001_sync/image_03/data/0000000000.jpg ...   right colour camera
        2011_09_26/2011_09_26_drive_0001_sync/image_0{2,3}/timestamps.txt
        2011_09_26/2011_09_26_drive_0001_sync/velodyne_points/data/0000000000.bin   (velodyne=true)
        gt_depths.npz                               `data`: float32 (N, height, width) depth of the left
                                                    image of each val_files.txt line, metres, 0 = unknown
        splits/smoke/train_files.txt                "2011_09_26/2011_09_26_drive_0001_sync 1 l" lines: every
                                                    frame with both neighbours, both sides
        splits/smoke/val_files.txt                  "... 0000000001 l" lines of the first drive (10 digits)
        splits/smoke/test_files.txt                 the same lines as val_files.txt

    FeatDepth and monodepth2 read split lists from their own `splits/<name>/` folder: point them at (or copy)
    `splits/smoke`. `ext=png` writes the original KITTI .png frames instead of the .jpg conversion.
    """
    seed, drives, frames = int(opts["seed"]), int(opts["drives"]), int(opts["frames"])
    width, height, ext = int(opts["width"]), int(opts["height"]), str(opts["ext"])
    out.text(f"{DATE}/calib_cam_to_cam.txt", _calib_cam_to_cam(width, height))
    out.text(f"{DATE}/calib_velo_to_cam.txt", _calib_velo_to_cam())
    out.text(f"{DATE}/calib_imu_to_velo.txt", _calib_imu_to_velo())
    train: list[str] = []
    val: list[str] = []
    gt: list[float] = []
    for d in range(1, drives + 1):
        folder = f"{DATE}/{DATE}_drive_{d:04d}_sync"
        scene = _Scene(Rng(seed, d), seed, d)
        for cam in (2, 3):
            out.text(f"{folder}/image_0{cam}/timestamps.txt", _timestamps(frames, d))
            for f in range(frames):
                canvas, depth = scene.render(width, height, f, _CAM_X[cam] - _CAM_X[2])
                data = canvas.jpeg() if ext == "jpg" else canvas.png()
                out.file(f"{folder}/image_0{cam}/data/{f:010d}.{ext}", data)
                if cam == 2 and d == 1 and 0 < f < frames - 1:
                    val.append(f"{folder} {f:010d} l")
                    gt += depth
        if opts["velodyne"]:
            out.text(f"{folder}/velodyne_points/timestamps.txt", _timestamps(frames, d))
            for f in range(frames):
                out.file(f"{folder}/velodyne_points/data/{f:010d}.bin", _velodyne(Rng(seed, d, f, 1), 512))
        train += [f"{folder} {f} {side}" for f in range(1, frames - 1) for side in ("l", "r")]
    out.file("gt_depths.npz", _npz({"data": _npy_f4((len(val), height, width), gt)}))
    out.text("splits/smoke/train_files.txt", "".join(line + "\n" for line in train))
    out.text("splits/smoke/val_files.txt", "".join(line + "\n" for line in val))
    out.text("splits/smoke/test_files.txt", "".join(line + "\n" for line in val))


GENERATORS = (
    Generator(
        name="kitti-stereo",
        imitates="KITTI raw synchronized stereo sequences (monodepth2/FeatDepth layout, eigen-style splits)",
        summary="2011_09_26/<drive>_sync/image_0{2,3}/data/%010d.jpg, calib_*.txt, gt_depths.npz, splits/smoke/",
        options=(
            Option("drives", 1, "Sequences (2011_09_26_drive_0001_sync, ...).", minimum=1, maximum=99),
            Option(
                "frames",
                5,
                "Frames per sequence (the split lists those with both neighbours).",
                minimum=3,
                maximum=10000,
            ),
            Option("width", 160, "Image width in pixels.", minimum=16, maximum=4096),
            Option("height", 48, "Image height in pixels.", minimum=16, maximum=4096),
            Option(
                "ext",
                "jpg",
                "Image format: jpg (monodepth2's conversion) or png (the original).",
                choices=("jpg", "png"),
            ),
            Option("velodyne", True, "Also write velodyne_points/ scans (for tools that build ground truth)."),
            SEED,
        ),
        write=_write,
    ),
)

__all__ = ["GENERATORS"]
