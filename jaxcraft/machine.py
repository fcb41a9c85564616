"""The machine a measurement was taken on, named the same way by every report and benchmark.

"AMD EPYC" alone names several CPU generations whose speeds differ ~2× (and whose float results
differ), so the description adds the family/model numbers and the widest vector extension.
"""
from __future__ import annotations

import os
import platform
import subprocess


def _cpuinfo() -> dict:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            block = f.read().split("\n\n", 1)[0]
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines()) if k.strip()}


def simd_level(flags: str) -> str:
    """The widest x86 vector extension in a cpuinfo `flags` string: "AVX-512", "AVX2", "AVX" or ""."""
    have = set(flags.split())
    return next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")) if flag in have), "")


def cpu_description() -> str:
    """"AMD EPYC (family 25, model 17, AVX-512), 2 cores": the CPU model (`lscpu`'s "Model name"
    where lscpu exists), its family/model numbers and vector extension (Linux), and the core count."""
    model = platform.processor() or platform.machine() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), model)
    except (OSError, subprocess.CalledProcessError):
        pass
    info = _cpuinfo()
    details = [f"family {info['cpu family']}, model {info['model']}"] if "cpu family" in info and "model" in info else []
    if simd_level(info.get("flags", "")):
        details.append(simd_level(info["flags"]))
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{model}{suffix}, {os.cpu_count()} cores"


__all__ = ["cpu_description", "simd_level"]
