"""The `Trainer` protocol: what the run loop, evaluation and benchmarks may rely on.

    trainer = jaxcraft.build.make_trainer(config)     # FusedTrainer or BridgedTrainer
    state = trainer.init(key)                         # or init(key, params, ref_params)
    trainer.initial_params(key)                       # the params init(key) starts from
    state, metrics = trainer.run(state, n)            # n updates; metrics {name: [n] array}
    trainer.params(state)                             # the network params of a state
    trainer.policy(state).act(obs)                    # its policy on batched observations
    trainer.state_sharding(state)                     # NamedShardings (checkpoint restore)
    trainer.close()                                   # release workers/threads (idempotent)

Both trainers build their distribution, `Acting`, initial params, loop layout and learner with
`jaxcraft.train.agent.make_agent`, act with `jaxcraft.ppo.acting.Acting`, build one `Trajectory`
per update and learn with the same `jaxcraft.train.learner.Learner`, so their metric names are
the same. A state's layout is each trainer's own: read its params with `params(state)`.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Trainer(Protocol):
    config: Any          # the ExperimentConfig it was built from
    network: Any         # the flax module (network contract of jaxcraft.ppo)
    agent: Any           # its `jaxcraft.train.agent.Agent` (distribution, acting, learner, initial params)
    dist: Any            # the action distribution

    def init(self, key: Any, params: Any = None, ref_params: Any = None) -> Any:
        """A fresh training state (params from `params` or `initial_params(key)`)."""

    def initial_params(self, key: Any) -> Any:
        """The params `init(key)` starts from when given none (a network init only: no world, no
        optimizer; the run loop fits pretrained params into them without compiling `init` twice)."""

    def run(self, state: Any, num_updates: int) -> tuple[Any, dict]:
        """`num_updates` updates → (state, metrics stacked over updates)."""

    def params(self, state: Any) -> Any:
        """The network params of `state` (what policies and saved params are)."""

    def policy(self, state: Any) -> Any:
        """The policy of `state`'s params: a `jaxcraft.train.agent.Policy` (`act(obs, key, carry, reset)`)."""

    def state_sharding(self, state: Any) -> Any:
        """The NamedShardings of `state` (same tree structure)."""

    def close(self) -> None:
        """Stop anything the trainer started (threads, simulator workers); idempotent."""

    @property
    def env_steps_per_update(self) -> int:
        """Env steps consumed by one update (num_envs · rollout_len)."""
