"""Progress bars for every long stage (train, demos, pretrain, eval) that behave in CI logs.

On a terminal `progress_bar` is an ordinary tqdm bar (redrawn in place, ETA). When the stream it
writes to is not a terminal (CI, `make run > log`, `nohup`), the same bar prints one plain line —
no carriage returns, no ANSI codes — at most every `interval` seconds (default 30, or the
environment variable JAXCRAFT_PROGRESS_INTERVAL), plus a final line when it closes.

    bar = progress_bar(total=256, desc="demos", unit="episode")
    bar.set_postfix(successes=11, refresh=False)   # refresh=False: a postfix alone prints no line
    bar.update(32)
    bar.close()
"""
from __future__ import annotations

import io
import os
import re
import sys
from typing import Any, Optional, TextIO

from tqdm.auto import tqdm

DEFAULT_INTERVAL_S = 30.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LineStream(io.TextIOBase):
    """Turns tqdm's in-place redraws ('\\r' + text) into one newline-terminated line each."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, s: str) -> int:
        text = _ANSI.sub("", s).replace("\r", "\n")
        for line in text.splitlines():
            if line.strip():
                self.stream.write(line.rstrip() + "\n")
        self.stream.flush()
        return len(s)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def interval_seconds() -> float:
    """Seconds between lines when not on a terminal (JAXCRAFT_PROGRESS_INTERVAL, default 30)."""
    value = os.environ.get("JAXCRAFT_PROGRESS_INTERVAL", "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_INTERVAL_S
    except ValueError:
        raise ValueError(f"JAXCRAFT_PROGRESS_INTERVAL={value!r} is not a number of seconds") from None


def progress_bar(total: Optional[float] = None, desc: Optional[str] = None, unit: str = "it",
                 file: Optional[TextIO] = None, interval: Optional[float] = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on `file` (default stderr); one line per `interval` s when `file` is not a terminal."""
    file = sys.stderr if file is None else file
    if _is_terminal(file):
        return tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True,
                    mininterval=kwargs.pop("mininterval", 1.0), **kwargs)
    every = interval_seconds() if interval is None else interval
    # maxinterval=inf: tqdm's monitor thread must not force extra redraws between intervals.
    if total is not None:   # no bar graphic in a log: counts, percentage, elapsed<ETA, rate, postfix
        kwargs.setdefault("bar_format", "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) "
                                        "[{elapsed}<{remaining}, {rate_fmt}{postfix}]")
    return tqdm(total=total, desc=desc, unit=unit, file=LineStream(file), ncols=100, ascii=True,
                mininterval=every, maxinterval=float("inf"), **kwargs)


class EpisodeProgress:
    """A bar over episodes with the running success count (`jaxcraft demos`, `jaxcraft eval`).

    `progress(done, successes)` sets the totals; `progress.add(episodes, successes)` adds to them.
    """

    def __init__(self, total: int, desc: str, file: Optional[TextIO] = None, interval: Optional[float] = None):
        self.bar = progress_bar(total=total, desc=desc, unit="episode", file=file, interval=interval)
        self.done = self.successes = 0

    def __call__(self, done: int, successes: int, total: Optional[int] = None) -> None:
        self.successes = int(successes)
        self.bar.set_postfix(success=f"{self.successes}/{done} ({100.0 * self.successes / max(done, 1):.1f}%)",
                             refresh=False)
        self.bar.update(int(done) - self.done)
        self.done = int(done)

    def add(self, episodes: int, successes: int) -> None:
        self(self.done + int(episodes), self.successes + int(successes))

    def close(self) -> None:
        self.bar.close()
