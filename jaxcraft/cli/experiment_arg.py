"""What `jaxcraft eval`'s two paths (the JaxCraft world, Minetest through the bridge) share."""
from __future__ import annotations

import pathlib

DEFAULT_EXPERIMENT = "experiments/quickstart.py"


def experiment_path(arg: str | None) -> pathlib.Path:
    """--experiment, or the quickstart: in the working directory, else the checkout's own copy."""
    if arg is not None:
        return pathlib.Path(arg)
    path = pathlib.Path(DEFAULT_EXPERIMENT)
    if not path.is_file():   # run outside the checkout's root: the repo's own copy
        path = pathlib.Path(__file__).resolve().parents[2] / DEFAULT_EXPERIMENT
    return path
