"""Read Xvfb's screen from its `-fbdir` XWD file (memory-mapped: no X round trip).

XWD layout: a 100-byte header of 25 big-endian uint32 (header_size, file_version,
pixmap_format, depth, width, height, xoffset, byte_order, bitmap_unit, bit_order, pad,
bits_per_pixel, bytes_per_line, visual_class, red/green/blue masks, ...; ncolors is field
19), the window name, `ncolors` 12-byte colour entries, then the pixels. At depth 24 Xvfb
stores 32-bit little-endian pixels, i.e. bytes B, G, R, X.
"""
from __future__ import annotations

import mmap
import pathlib
import struct

import numpy as np


class FrameBuffer:
    """A live RGB view of an Xvfb screen."""

    def __init__(self, path: pathlib.Path):
        self.path = pathlib.Path(path)
        with open(self.path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        h = struct.unpack(">25I", self._map[:100])
        header_size, width, height, bpp, bytes_per_line, ncolors = h[0], h[4], h[5], h[11], h[12], h[19]
        if bpp != 32:
            raise ValueError(f"{self.path}: {bpp} bits per pixel, expected 32 (Xvfb -screen 0 WxHx24)")
        offset = header_size + 12 * ncolors
        self.shape = (height, width)
        raw = np.frombuffer(self._map, np.uint8, count=height * bytes_per_line, offset=offset)
        self._bgrx = raw.reshape(height, bytes_per_line)[:, : 4 * width].reshape(height, width, 4)

    def rgb(self) -> np.ndarray:
        """A private uint8[H, W, 3] copy of the current screen."""
        return np.ascontiguousarray(self._bgrx[:, :, 2::-1])

    def close(self) -> None:
        self._bgrx = None
        try:
            self._map.close()
        except (BufferError, ValueError):
            pass
