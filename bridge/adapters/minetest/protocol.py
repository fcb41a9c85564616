"""The file protocol with the Lua world mod (see mod/jaxcraft_bridge/init.lua).

Python writes `jx_cmd.txt` atomically ("seq\\n" + one command per line); the mod runs a block
once, at the first server step that sees its new seq, and rewrites `jx_state.txt` every
server step. `ModState` is one parsed state line.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import time
from typing import Callable, Sequence

FIELDS = ("step", "seq", "ready", "x", "y", "z", "yaw", "pitch", "hp", "pointed", "los", "dug", "used", "eye_h")


@dataclasses.dataclass(frozen=True)
class ModState:
    """One server step as the mod saw it (Minetest coordinates: x east, y up, z north).

    yaw: radians, 0 looks along +z, grows turning *left* (towards -x); pitch: radians,
    positive looks *down* (Minetest's conventions). pointed/los/dug/used are 0/1 flags.
    """

    step: int
    seq: int
    ready: int
    x: float
    y: float
    z: float
    yaw: float
    pitch: float
    hp: int
    pointed: int
    los: int
    dug: int
    used: int
    eye_h: float

    @staticmethod
    def parse(line: str) -> "ModState":
        parts = line.split()
        if len(parts) != len(FIELDS):
            raise ValueError(f"mod state line has {len(parts)} fields, expected {len(FIELDS)}: {line!r}")
        vals = [float(p) for p in parts]
        kinds = {f.name: f.type for f in dataclasses.fields(ModState)}
        return ModState(**{k: (int(v) if kinds[k] in (int, "int") else v) for k, v in zip(FIELDS, vals)})

    @property
    def eye(self) -> tuple[float, float, float]:
        return (self.x, self.y + self.eye_h, self.z)

    def look_dir(self) -> tuple[float, float, float]:
        cp = math.cos(self.pitch)
        return (-math.sin(self.yaw) * cp, -math.sin(self.pitch), math.cos(self.yaw) * cp)


class ModLink:
    """Commands to, and state from, one instance's mod."""

    def __init__(self, world: pathlib.Path):
        self.cmd_path = pathlib.Path(world) / "jx_cmd.txt"
        self.state_path = pathlib.Path(world) / "jx_state.txt"
        self.seq = 0

    def send(self, commands: Sequence[str]) -> int:
        """Write a command block; return its seq."""
        self.seq += 1
        tmp = self.cmd_path.with_suffix(".tmp")
        tmp.write_text(f"{self.seq}\n" + "".join(c + "\n" for c in commands))
        os.replace(tmp, self.cmd_path)
        return self.seq

    def scene(self, spec: dict) -> int:
        return self.send(["scene " + json.dumps(spec, separators=(",", ":"))])

    def read(self) -> ModState | None:
        try:
            text = self.state_path.read_text()
        except (FileNotFoundError, OSError):
            return None
        if not text.endswith("\n"):
            return None
        return ModState.parse(text)

    def wait(self, until: Callable[[ModState], bool], timeout_s: float, alive: Callable[[], bool],
             poll_s: float = 0.002) -> ModState:
        """Poll the state until `until(state)`; RuntimeError if `alive()` turns False, TimeoutError."""
        deadline = time.monotonic() + timeout_s
        while True:
            s = self.read()
            if s is not None and until(s):
                return s
            if not alive():
                raise RuntimeError("Minetest or Xvfb exited")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Minetest mod did not report the awaited state within {timeout_s} s "
                                   f"(last: {s})")
            time.sleep(poll_s)
