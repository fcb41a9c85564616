"""Optional Weights & Biases sink beside TensorBoard (`run.wandb_project`).

One W&B run per run_dir: its id is kept in `run_dir/wandb/run_id`, so a resumed run continues
the same W&B run (`resume="allow"`). W&B drops a row whose step is not above the last one it
holds, so the rows replayed after a resume are not logged twice. `mode` is W&B's own:
"online", "offline" (writes `run_dir/wandb/offline-run-*`, no network; upload later with
`wandb sync`) or "disabled"; "" leaves it to W&B (the WANDB_MODE variable, else online).
"""
from __future__ import annotations

import pathlib
import uuid
from typing import Any


class WandbSink:
    def __init__(self, run_dir: pathlib.Path, project: str, mode: str, config: dict):
        try:
            import wandb   # optional extra jaxcraft[wandb]: only when run.wandb_project is set
        except ImportError:
            raise ImportError("run.wandb_project is set but wandb is not installed: "
                              "pip install 'jaxcraft[wandb]'") from None
        root = pathlib.Path(run_dir) / "wandb"
        root.mkdir(parents=True, exist_ok=True)
        id_file = root / "run_id"
        if not id_file.exists():
            id_file.write_text(uuid.uuid4().hex[:16])
        self.run = wandb.init(project=project, dir=str(run_dir), id=id_file.read_text().strip(),
                              resume="allow", config=config, mode=mode or None,
                              name=pathlib.Path(run_dir).name)
        # Steps a resumed W&B run already holds are skipped rather than re-sent (W&B would drop them
        # with a warning each).
        self.last_step = self.run.step - 1 if self.run.resumed else -1

    def log(self, scalars: dict[str, float], env_steps: int) -> None:
        """One row's scalars (`train.metrics.scalars_of`: the caller converts, so this sink imports
        nothing of the run loop's) at `env_steps`."""
        if env_steps <= self.last_step:
            return
        self.run.log(scalars, step=env_steps)
        self.last_step = env_steps

    def close(self) -> None:
        self.run.finish()
