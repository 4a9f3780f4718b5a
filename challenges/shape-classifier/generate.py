"""Seeded generator of shape-classifier's data: 16×16 images of four outlined shapes.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

Each image is one shape (circle, square, triangle or cross) drawn as a thin outline at a
random place, size, rotation and brightness, over noise and a few stray pixels. The
default seed reproduces the committed public/ and hidden/ byte for byte (with the same
NumPy version); any other seed gives fresh images from the same recipe.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

SHAPES_SEED = 20261205
SIZE = 16
TRAIN_ROWS = 3000
TEST_ROWS = 1000
CLASSES = ("circle", "square", "triangle", "cross")
NOISE = 0.15  # standard deviation of the background noise, on a 0..1 scale
STRAYS = 4  # random bright pixels per image


def _outline(kind: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """(x, y) points along one shape's outline, in pixel coordinates."""
    cx, cy = rng.uniform(5.5, 10.5, size=2)
    radius = rng.uniform(4.0, 6.0)
    angle = rng.uniform(0.0, 2 * np.pi)
    t = np.linspace(0.0, 1.0, 160, endpoint=False)
    if kind == 0:  # circle
        theta = 2 * np.pi * t
        points = np.stack([np.cos(theta), np.sin(theta)], axis=1) * radius
    elif kind in (1, 2):  # square, triangle: a regular polygon's edges
        sides = 4 if kind == 1 else 3
        corners = np.array([[np.cos(2 * np.pi * k / sides), np.sin(2 * np.pi * k / sides)]
                            for k in range(sides + 1)]) * radius
        edge = np.minimum((t * sides).astype(int), sides - 1)
        along = (t * sides - edge)[:, None]
        points = corners[edge] * (1 - along) + corners[edge + 1] * along
    else:  # cross: two perpendicular strokes through the centre
        s = (2 * t - 1)[:, None] * radius
        half = len(t) // 2
        points = np.concatenate([np.hstack([s[:half], 0 * s[:half]]),
                                 np.hstack([0 * s[half:], s[half:]])])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    result: npt.NDArray[np.float64] = points @ rotation.T + np.array([cx, cy])
    return result


def images(seed: int, rows: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """``rows`` images (uint8, rows×16×16) and their class indices, from ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=rows)
    canvas = np.zeros((rows, SIZE, SIZE))
    for row, kind in enumerate(labels):
        points = np.rint(_outline(int(kind), rng)).astype(int)
        inside = (points >= 0).all(axis=1) & (points < SIZE).all(axis=1)
        xs, ys = points[inside, 0], points[inside, 1]
        canvas[row, ys, xs] = rng.uniform(0.55, 1.0)
        stray = rng.integers(0, SIZE, size=(STRAYS, 2))
        canvas[row, stray[:, 0], stray[:, 1]] = rng.uniform(0.3, 0.9, size=STRAYS)
    canvas += rng.normal(0.0, NOISE, size=canvas.shape)
    pixels = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
    return pixels, labels.astype(np.int64)


def _npy(array: npt.NDArray[np.generic]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def files(seed: int = SHAPES_SEED) -> dict[str, bytes]:
    """Every data file of one variant, by ``public/…`` or ``hidden/…`` path."""
    train_x, train_y = images(seed, TRAIN_ROWS)
    test_x, test_y = images(seed + 1, TEST_ROWS)
    labels = "id,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(test_y))
    return {
        "public/train_images.npy": _npy(train_x),
        "public/train_labels.npy": _npy(train_y),
        "public/test_images.npy": _npy(test_x),
        "hidden/labels.csv": labels.encode(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=SHAPES_SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
