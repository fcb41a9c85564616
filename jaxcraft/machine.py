"""The machine a measurement was taken on, named the same way by every report and benchmark."""
from __future__ import annotations

import os
import platform
import subprocess


def cpu_description() -> str:
    """"AMD EPYC 7B13, 2 cores": the CPU model (`lscpu`'s "Model name" where lscpu exists) and core count."""
    model = platform.processor() or platform.machine() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), model)
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model}, {os.cpu_count()} cores"


__all__ = ["cpu_description"]
