"""The env, net and run sections of an experiment (the ppo, bridge and task sections live in
`jaxcraft.ppo.config`, `jaxcraft.config.bridge` and `jaxcraft.config.task`)."""
from __future__ import annotations

import dataclasses
from typing import Optional

from jaxcraft.config.fields import check_all, documented

ACTIVATIONS = ("tanh", "relu", "gelu", "silu")
CORES = ("gru", "trxl")   # jaxcraft.nets.recurrent.CORES
# goal_cnn's fusions (jaxcraft.nets.goal.FUSIONS; config sits below nets, tests/nets/test_spatial_fusion.py checks they agree)
FUSIONS = ("late", "conv", "corr", "attention")


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Which environment, how many copies, and how long each rollout is."""

    name: str = documented("gymnax:CartPole-v1", "Environment id: 'gymnax:<gymnax id>', 'jaxcraft:<world/task id>' or 'bridge:<adapter>' (see jaxcraft.build).")
    num_envs: int = documented(4, "Parallel envs in total (split over devices, of every process in a multi-process job); must be divisible by the global device count.")
    rollout_len: int = documented(128, "Steps per env per update (T of the [T, B] batch).")
    reset_pool_size: int = documented(0, "Pre-generated reset states per run (split over devices); 0 = fresh reset for each finished env (cheap envs only).")
    pool_refresh_per_step: int = documented(1, "Reset-pool entries regenerated per env step (per device); 0 = a fixed pool: finished envs cycle through reset_pool_size tasks (a fixed level set; no reset in the compiled step).")
    max_episode_steps: int = documented(0, "Override the env's time limit; 0 = keep the env's default.")
    env_params: tuple[str, ...] = documented((), "Overrides of fields of the env's own params, 'field=value' each (e.g. gymnax MemoryChain's ('memory_length=20',)); the value takes the field's current type.")

    def validate(self) -> None:
        check_all("env", self, [
            ("num_envs", self.num_envs >= 1, "must be >= 1"),
            ("rollout_len", self.rollout_len >= 1, "must be >= 1"),
            ("reset_pool_size", self.reset_pool_size >= 0, "must be >= 0"),
            ("max_episode_steps", self.max_episode_steps >= 0, "must be >= 0"),
            ("env_params", all(p.count("=") == 1 and p.split("=")[0].strip() for p in self.env_params),
             "must be 'field=value' strings"),
        ])


@dataclasses.dataclass(frozen=True)
class GoalNetConfig:
    """Options of the goal-conditioned net (`net.kind="goal_cnn"`) only."""

    aux_heads: bool = documented(False, "Add heads predicting target visibility and its image centroid (ROCKET-2), trained by imitation pretraining.")
    fusion: str = documented("late", "'late' (FiLM the frame code by the goal code), 'conv' (also FiLM every frame conv layer), 'corr' (a heat map of the target over the frame's conv map: correlation with the masked goal's embedding) or 'attention' (frame cells cross-attend to the goal's cells; jaxcraft.nets.spatial).")
    spatial_dim: int = documented(32, "Query/key width of the 'corr' and 'attention' fusions.")
    privileged_critic: bool = documented(False, "The value also reads the env's value-only `privileged` observation (distance, bearing, elevation, visibility, time left of the target: jaxcraft.tasks.env.privileged_observation); acting never needs it.")
    spatial_layers: int = documented(0, "Conv layers before the 'corr'/'attention' heat map (each halves the frame: 32 px after 1 layer → 16 × 16 cells); 0 = all but the last.")
    goal_table: int = documented(0, "Encode each distinct goal once in a call of more than this many samples (the goal is constant within an episode; exact up to float rounding); 0 = encode every sample.")
    bearing_head: bool = documented(False, "A head on the policy's features predicting the target's bearing (sin, cos) and visibility, trained during RL against the privileged observation with weight ppo.aux_coef (perception supervision for the policy's own features; cloned params load with it fresh).")
    first_stride: int = documented(2, "Stride of the frame and goal torsos' first 3×3 conv: 2 (halves the frame, cheap) or 1 (full resolution first: a 1–2-pixel target is not averaged away; ~4× that layer's cost and a 2× wider map).")
    value_stop_gradient: bool = documented(False, "With the shared torso (separate_critic=False): the value head reads the torso's features through stop_gradient, so value gradients never move the policy (a free alternative to a second torso when fine-tuning a cloned policy; the critic is then a linear read-out of the policy's features).")

    def validate(self) -> None:
        check_all("net.goal", self, [("fusion", self.fusion in FUSIONS, f"must be one of {', '.join(map(repr, FUSIONS))}"),
                                     ("spatial_dim", self.spatial_dim >= 1, "must be >= 1"),
                                     ("spatial_layers", self.spatial_layers >= 0, "must be >= 0"),
                                     ("first_stride", self.first_stride in (1, 2), "must be 1 or 2"),
                                     ("goal_table", self.goal_table >= 0, "must be >= 0")])


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """The actor-critic network."""

    kind: str = documented("mlp", "Network kind: 'mlp' (vector obs), 'cnn' (image obs), 'world_cnn', 'goal_cnn' (see jaxcraft.nets.registration; plug-ins register more in jaxcraft.registry.NETS).")
    hidden: tuple[int, ...] = documented((64, 64), "Hidden sizes of the MLP encoder / the dense layers after the CNN.")
    channels: tuple[int, ...] = documented((16, 32), "Conv channels of the CNN encoder.")
    core_size: int = documented(0, "Width of the recurrent core (the GRU's size, the Transformer-XL's model width); 0 = feed-forward.")
    core: str = documented("gru", "Recurrent core when core_size > 0: 'gru' (a GRU that resets at episode starts) or 'trxl' (a Transformer-XL: causal attention over the segment and a memory of cached earlier steps, never across an episode start; jaxcraft.nets.trxl). The trxl's segment is whatever one call sees: ppo.chunk_len steps in a PPO update (its context), one step when acting.")
    core_memory: int = documented(32, "trxl: steps of memory; each step attends to itself and the core_memory steps before it in its episode (ROCKET-3: context 128 = ppo.chunk_len, memory 128).")
    core_layers: int = documented(2, "trxl: attention blocks.")
    core_heads: int = documented(4, "trxl: attention heads (must divide core_size).")
    activation: str = documented("tanh", "Activation: tanh, relu, gelu or silu.")
    separate_critic: bool = documented(True, "Give the critic its own encoder (feed-forward torso; goal_cnn: a second goal-conditioned torso, so a critic warm-up leaves the policy bit-identical).")
    goal: GoalNetConfig = documented(GoalNetConfig(), "Options of net.kind='goal_cnn'.")
    value_bins: int = documented(0, "Value head outputs logits over this many bins instead of a scalar; must equal ppo.hl_gauss_bins with ppo.value_head='hl_gauss', else 0.")

    def validate(self) -> None:
        check_all("net", self, [
            ("activation", self.activation in ACTIVATIONS, f"must be one of {', '.join(ACTIVATIONS)}"),
            ("hidden", bool(self.hidden) and min(self.hidden) >= 1, "must be non-empty positive sizes"),
            ("channels", bool(self.channels) and min(self.channels) >= 1, "must be non-empty positive sizes"),
            ("core_size", self.core_size >= 0, "must be >= 0"),
            ("core", self.core in CORES, f"must be one of {', '.join(map(repr, CORES))}"),
            ("core_memory", self.core_memory >= 1, "must be >= 1"),
            ("core_layers", self.core_layers >= 1, "must be >= 1"),
            ("core_heads", self.core_heads >= 1 and (self.core != "trxl" or self.core_size % self.core_heads == 0),
             f"must be >= 1 and divide core_size={self.core_size} (core='trxl')"),
            ("value_bins", self.value_bins == 0 or self.value_bins >= 2, "must be 0 (scalar value) or >= 2"),
        ])
        self.goal.validate()


@dataclasses.dataclass(frozen=True)
class GuideConfig:
    """A teacher-guided curriculum (Jump-Start RL, Uchendu et al. 2023): a privileged teacher acts first.

    Each training episode draws h uniformly from {0, …, H}; the teacher acts for its first h steps
    (`guided` in the trajectory: no policy-gradient or KL term there, the critic learns from them).
    H falls linearly from `horizon` to 0 over the first `decay_fraction` of the updates. Evaluation
    never uses the guide.
    """

    teacher: str = documented("", "Teacher that acts for the guided steps (a jaxcraft:tasks teacher, e.g. 'servo'); '' = no guide.")
    horizon: int = documented(0, "H at the first update: the most steps of an episode the teacher acts for.")
    decay_fraction: float = documented(0.5, "H reaches 0 after this fraction of the run's updates (linearly).")

    def validate(self) -> None:
        check_all("run.guide", self, [
            ("horizon", self.horizon >= 0, "must be >= 0"),
            ("decay_fraction", 0.0 < self.decay_fraction <= 1.0, "must be in (0, 1]"),
            ("horizon", not self.teacher or self.horizon > 0, "must be > 0 when run.guide.teacher is set"),
        ])


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Budget, seeding, devices, logging and checkpoints."""

    seed: int = documented(0, "PRNG seed of the whole run (params, envs, actions, minibatches).")
    total_env_steps: int = documented(500_000, "Env steps over the run; updates = total_env_steps // (num_envs · rollout_len).")
    num_devices: int = documented(0, "Devices on the data mesh axis; 0 = all devices (a multi-process run must use all of them).")
    updates_per_call: int = documented(10, "Updates fused into one jitted call (a lax.scan); metrics, NaN checks and SIGTERM are handled between calls.")
    scan_updates: Optional[bool] = documented(None, "Fuse the updates of a call into one lax.scan (True) or loop over one jitted update on the host (False); None = loop only for a convolutional net on CPU (XLA:CPU runs conv programs slowly inside while-loops; jaxcraft.train.xla_loops).")
    checkpoint_every: int = documented(50, "Save a checkpoint every this many updates (a multiple of updates_per_call); 0 = only at the end.")
    keep_checkpoints: int = documented(3, "How many recent checkpoints to keep.")
    run_dir: str = documented("runs/{name}", "Where metrics.jsonl, TensorBoard events, checkpoints and summary.json go ({name} = experiment name).")
    tensorboard: bool = documented(True, "Also write TensorBoard event files.")
    progress: bool = documented(True, "Show a progress bar with steps/s and return.")
    wandb_project: str = documented("", "Also log metrics to this Weights & Biases project (needs the 'wandb' extra); '' = no W&B.")
    wandb_mode: str = documented("", "W&B mode: 'online', 'offline' (no network; `wandb sync` later) or 'disabled'; '' = W&B's default (WANDB_MODE, else online).")
    init_params: str = documented("", "Start from these params (e.g. imitation-pretrained, saved by `jaxcraft pretrain`); with ppo.kl_coef > 0 they are also the frozen KL reference. '' = random init.")
    guide: GuideConfig = documented(GuideConfig(), "Teacher-guided curriculum (fused jaxcraft:tasks runs only).")
    trainer: str = documented("auto", "Which trainer runs the experiment: 'fused' (the JAX env stepped inside the jitted update), 'bridged' (simulators in worker processes, env.name='bridge:<adapter>') or 'auto' (bridged exactly for bridge: env ids).")

    def validate(self) -> None:
        check_all("run", self, [
            ("trainer", self.trainer in ("auto", "fused", "bridged"), "must be 'auto', 'fused' or 'bridged'"),
            ("updates_per_call", self.updates_per_call >= 1, "must be >= 1"),
            ("checkpoint_every", self.checkpoint_every >= 0, "must be >= 0"),
            ("keep_checkpoints", self.keep_checkpoints >= 1, "must be >= 1"),
            ("num_devices", self.num_devices >= 0, "must be >= 0"),
            ("wandb_mode", self.wandb_mode in ("", "online", "offline", "disabled"), "must be '', online, offline or disabled"),
            ("checkpoint_every", not self.checkpoint_every or self.checkpoint_every % self.updates_per_call == 0,
             f"must be a multiple of run.updates_per_call={self.updates_per_call}"),
        ])
        self.guide.validate()
