"""Success-rate statistics: binomial confidence intervals and a family × distance table.

Pure NumPy (SciPy only for the optional Clopper-Pearson interval). With k successes in n
episodes, p̂ = k/n and z the normal quantile (1.96 for 95 %), the Wilson score interval is

    centre = (p̂ + z²/2n) / (1 + z²/n)
    half   = z / (1 + z²/n) · sqrt(p̂(1 − p̂)/n + z²/4n²)
    [lo, hi] = [centre − half, centre + half]  (clipped to [0, 1])

It stays inside [0, 1] and is sensible at k = 0 and k = n, unlike the normal (Wald) interval.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

Z95 = 1.959963984540054   # Φ⁻¹(0.975)


def wilson_interval(successes: Any, n: Any, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) Wilson score interval; broadcasts over arrays. NaN where n == 0."""
    k = np.asarray(successes, np.float64)
    n = np.asarray(n, np.float64)
    if np.any(k < 0) or np.any(k > n):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At k = 0 (k = n) the bound is exactly 0 (1); rounding can leave it 1e-17 off, above the rate.
    lo = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n == 0, np.nan, lo), np.where(n == 0, np.nan, hi)


def clopper_pearson_interval(successes: Any, n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) exact (Clopper-Pearson) interval from Beta quantiles; needs SciPy."""
    try:
        from scipy.stats import beta
    except ImportError as e:  # optional dependency
        raise ImportError("clopper_pearson_interval needs scipy (pip install scipy); "
                          "wilson_interval needs only NumPy") from e
    k = np.asarray(successes, np.float64)
    n = np.asarray(n, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    bad = n == 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


@dataclasses.dataclass(frozen=True)
class SuccessTable:
    """Counts per (row, col) cell plus margins: `successes` and `episodes` are int64[R + 1, C + 1],
    the last row being the column totals ("overall") and the last column the row totals ("all")."""

    rows: tuple
    cols: tuple
    successes: np.ndarray
    episodes: np.ndarray
    row_total: str = "overall"
    col_total: str = "all"

    @property
    def rate(self) -> np.ndarray:
        """float64[R + 1, C + 1] success rate (NaN for empty cells)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.successes / self.episodes

    @property
    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Wilson 95 % (lo, hi), each float64[R + 1, C + 1]."""
        return wilson_interval(self.successes, self.episodes)

    def _index(self, row: Any, col: Any) -> tuple[int, int]:
        r = len(self.rows) if row == self.row_total else list(self.rows).index(row)
        c = len(self.cols) if col == self.col_total else list(self.cols).index(col)
        return r, c

    def cell(self, row: Any, col: Any) -> dict:
        """{successes, episodes, rate, ci_low, ci_high} of one cell (totals by their labels)."""
        r, c = self._index(row, col)
        lo, hi = self.interval
        f = lambda x: None if np.isnan(x) else float(x)  # noqa: E731 — JSON has no NaN
        return {"successes": int(self.successes[r, c]), "episodes": int(self.episodes[r, c]),
                "rate": f(self.rate[r, c]), "ci_low": f(lo[r, c]), "ci_high": f(hi[r, c])}

    def records(self, row_name: str = "family", col_name: str = "distance") -> list[dict]:
        """Every cell, totals included, as a list of JSON-ready dicts."""
        return [{row_name: _plain(r), col_name: _plain(c), **self.cell(r, c)}
                for r in self.rows + (self.row_total,) for c in self.cols + (self.col_total,)]

    def to_markdown(self, corner: str = "family \\ distance") -> str:
        """Markdown table: one line per row; cells "rate % [lo, hi] (k/n)"."""
        lo, hi = self.interval
        head = [corner] + [str(c) for c in self.cols] + [self.col_total]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r, name in enumerate(self.rows + (self.row_total,)):
            cells = [format_cell(self.successes[r, c], self.episodes[r, c], lo[r, c], hi[r, c])
                     for c in range(len(self.cols) + 1)]
            label = f"**{name}**" if r == len(self.rows) else str(name)
            lines.append("| " + " | ".join([label] + cells) + " |")
        return "\n".join(lines)


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def format_cell(k: int, n: int, lo: float, hi: float) -> str:
    """"45.0 % [30.2, 60.8] (9/20)"; "–" for an empty cell."""
    if n == 0:
        return "–"
    return f"{100 * k / n:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}] ({int(k)}/{int(n)})"


def success_table(row_of: Sequence, col_of: Sequence, success: Sequence[bool], rows: Sequence | None = None,
                  cols: Sequence | None = None) -> SuccessTable:
    """Count per-episode outcomes into a table with margins.

    row_of, col_of: [E] per-episode row / column labels (e.g. family names, distances);
    success: bool[E]; rows, cols: the labels in display order (default: sorted unique).
    """
    row_of, col_of = np.asarray(row_of), np.asarray(col_of)
    success = np.asarray(success, bool)
    if not row_of.shape == col_of.shape == success.shape or success.ndim != 1:
        raise ValueError(f"row_of, col_of and success must be equal-length 1-D arrays, got shapes "
                         f"{row_of.shape}, {col_of.shape}, {success.shape}")
    rows = tuple(_plain(r) for r in (np.unique(row_of) if rows is None else rows))
    cols = tuple(_plain(c) for c in (np.unique(col_of) if cols is None else cols))
    r_idx = np.asarray([rows.index(_plain(r)) if _plain(r) in rows else -1 for r in row_of], np.int64)
    c_idx = np.asarray([cols.index(_plain(c)) if _plain(c) in cols else -1 for c in col_of], np.int64)
    if (r_idx < 0).any() or (c_idx < 0).any():
        raise ValueError(f"episode labels outside the table: rows {sorted(set(row_of[r_idx < 0].tolist()))}, "
                         f"cols {sorted(set(col_of[c_idx < 0].tolist()))}")
    succ = np.zeros((len(rows) + 1, len(cols) + 1), np.int64)
    eps = np.zeros_like(succ)
    np.add.at(eps, (r_idx, c_idx), 1)
    np.add.at(succ, (r_idx, c_idx), success.astype(np.int64))
    for a in (succ, eps):   # margins: row totals in the last column, column totals in the last row
        a[:-1, -1] = a[:-1, :-1].sum(1)
        a[-1, :] = a[:-1, :].sum(0)
    return SuccessTable(rows, cols, succ, eps)


__all__ = ["Z95", "wilson_interval", "clopper_pearson_interval", "SuccessTable", "success_table", "format_cell"]
