"""The first video frame of a decrypted clip, for the preview's still (see ``still.py``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image


def still_frame(data: bytes) -> Image | None:
    """The first video frame of an in-memory clip, or None if it cannot be decoded.

    Needs PyAV and Pillow; returns None without them. Never raises.
    """
    try:
        import av

        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(video=0):
                return frame.to_image()
    except Exception:  # noqa: BLE001 - a preview is optional; any failure means "none"
        return None
    return None
