"""Do demonstrations fit an experiment? Checked before anything is built or compiled.

`jaxcraft pretrain` clones the experiment's network on a demo directory; demos recorded for
another frame size, action space or task families would otherwise be accepted (the network
is initialised from the demos' own shapes) and the mismatch would only show when the params
meet the experiment's env. `check_demos_fit` names the first mismatch in one line.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bridge import crossview as X

class DemoMismatch(ValueError):
    """The demonstrations were recorded for a different env/task than the experiment's."""


def check_demos_fit(demos: dict, obs_space: Any, action_space: Any, families: tuple[str, ...],
                    where: str = "demos") -> None:
    """Frame size, goal image size, action factors and values, and task families of `demos`
    (fields of `jaxcraft.tasks.demos.load_demos` or of a Minari import) against the experiment's spaces and families."""
    if isinstance(obs_space, dict):
        for field in (X.RGB, X.GOAL_RGB):
            if field in obs_space and field in demos:
                want, got = tuple(obs_space[field].shape[:2]), tuple(demos[field].shape[-3:-1])
                if want != got:
                    raise DemoMismatch(f"{where}: {field} frames are {got[0]}x{got[1]} but the experiment's observations are "
                                       f"{want[0]}x{want[1]} (task.frame_size); record demos with this "
                                       "experiment or set task.frame_size to match")
    nvec = getattr(action_space, "nvec", None)
    if nvec is not None and "action" in demos:
        factors = demos["action"].shape[-1]
        if factors != len(nvec):
            raise DemoMismatch(f"{where}: actions have {factors} factors but the experiment's action space "
                               f"has {len(nvec)} ({getattr(action_space, 'names', nvec)})")
        acts = demos["action"].reshape(-1, factors)
        if "length" in demos:   # steps past an episode's length are zero padding
            steps = demos["action"].shape[1]
            acts = acts[(np.arange(steps)[None, :] < demos["length"][:, None]).reshape(-1)]
        over = np.flatnonzero(((acts < 0) | (acts >= np.asarray(nvec))).any(0)) if len(acts) else []
        if len(over):
            i = int(over[0])
            raise DemoMismatch(f"{where}: action factor {i} takes values {int(acts[:, i].min())}..{int(acts[:, i].max())} "
                               f"outside the experiment's [0, {nvec[i]})")
    if X.FAMILY in demos and len(demos[X.FAMILY]):
        present = {X.FAMILIES[int(f)] if 0 <= int(f) < len(X.FAMILIES) else f"#{int(f)}"
                   for f in np.unique(demos[X.FAMILY])}
        extra = sorted(present - set(families))
        if extra:
            raise DemoMismatch(f"{where}: episodes of task families {extra} are not in the experiment's "
                               f"task.families {tuple(families)}")
