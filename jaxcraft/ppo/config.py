"""PPO hyper-parameters: one frozen, typed, documented dataclass.

Every field carries its documentation in `metadata["doc"]` (see `describe`), so the CLI
can list valid keys with their meaning and experiment files stay self-explaining.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from jaxcraft.ppo.hl_gauss import HLGauss


# `ConfigError`, `documented` and `describe` are the error type and field helpers of every config
# section (jaxcraft.config re-exports them from jaxcraft.config.fields). Their one definition lives
# here, not in jaxcraft.config, because jaxcraft.ppo must import nothing else of jaxcraft (it is
# reusable alone; tests/test_layers.py checks it) while jaxcraft.config sits above it and may
# import it.
class ConfigError(ValueError):
    """A config value or key is invalid; the message names the field (a ValueError, so code that
    uses jaxcraft.ppo alone may catch either)."""


def documented(default: Any, doc: str) -> Any:
    """A dataclass field with a default and a one-line description."""
    return dataclasses.field(default=default, metadata={"doc": doc})


def describe(config_cls: type) -> dict[str, str]:
    """{field name: doc} of a documented config dataclass (one level)."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(config_cls)}


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters of the PPO update (defaults follow CleanRL/PureJaxRL for small envs)."""

    lr: float = documented(2.5e-4, "Adam(W) step size; must be > 0.")
    anneal_lr: bool = documented(False, "Linearly decay the step size to 0 over the run.")
    weight_decay: float = documented(0.0, "Decoupled weight decay (AdamW); ROCKET-3 uses 0.04.")
    adam_eps: float = documented(1e-5, "Adam epsilon.")
    max_grad_norm: float = documented(0.5, "Clip the global gradient norm to this value.")
    gamma: float = documented(0.99, "Discount factor γ (ROCKET-3: 0.999).")
    gae_lambda: float = documented(0.95, "GAE λ.")
    num_epochs: int = documented(4, "Passes over each rollout per update.")
    num_minibatches: int = documented(4, "Minibatches per epoch; must divide the number of chunks per env.")
    chunk_len: int = documented(0, "Steps per training sequence; 0 = 1 for feed-forward nets, the whole rollout for recurrent nets. Recurrent chunks start from the hidden state stored at rollout time.")
    clip_eps: float = documented(0.2, "PPO ratio clip ε.")
    value_clip_eps: Optional[float] = documented(None, "Clip value updates to ±this around the old value; None = no clipping.")
    vf_coef: float = documented(0.5, "Weight of the value loss.")
    ent_coef: float = documented(0.01, "Weight of the entropy bonus (ROCKET-3: 0).")
    normalize_advantages: bool = documented(True, "Standardise advantages per minibatch (over all devices).")
    value_norm: bool = documented(False, "Predict values in units of EWMA-normalised targets (ROCKET-3).")
    value_norm_decay: float = documented(0.99, "EWMA decay of the value-target statistics.")
    kl_coef: float = documented(0.0, "Initial weight ρ of KL(π_θ ‖ π_ref) to a frozen reference policy (ROCKET-3: 0.2); 0 = off.")
    kl_decay: float = documented(0.9995, "ρ is multiplied by this after every update (ROCKET-3: 0.9995).")
    log_ratio_clip: Optional[float] = documented(None, "Clamp log(π_θ/π_old) to ±this before the ratio (ROCKET-3: 1.03); None = off.")
    unroll_minibatches: Optional[bool] = documented(None, "Unroll the epochs × minibatches loops (faster conv gradients on XLA:CPU, slower compile); None = unroll on CPU only (the trainers: only for a convolutional net, jaxcraft.train.xla_loops).")
    max_approx_kl: Optional[float] = documented(None, "Skip a minibatch step whose approx-KL exceeds this (or is not finite); None = never skip.")
    critic_warmup_updates: int = documented(0, "For this many first updates only the value loss (and the KL to the reference) is minimised: fits a fine-tuned policy's fresh value head before its advantages steer the policy; 0 = off.")
    value_head: str = documented("scalar", "'scalar': the critic outputs v and is regressed (½ squared error); 'hl_gauss': it outputs logits over `hl_gauss_bins` bins and is trained with the HL-Gauss cross-entropy (Farebrother et al. 2024), decoded as the expected bin centre (jaxcraft.ppo.hl_gauss).")
    hl_gauss_bins: int = documented(51, "HL-Gauss: number of value bins K.")
    hl_gauss_min: float = documented(-5.0, "HL-Gauss: lower end of the value support (normalised units when value_norm is on).")
    hl_gauss_max: float = documented(5.0, "HL-Gauss: upper end of the value support.")
    hl_gauss_sigma_ratio: float = documented(0.75, "HL-Gauss: σ of the target Gaussian in bin widths (paper: 0.75).")
    freeze_encoder: bool = documented(False, "Train only the decision part of a net that splits into `encode`/`decide` (goal_cnn: trunk, core and heads; ROCKET-3 freezes its backbone in RL): acting encodes each observation once, trajectories store features instead of frames, the KL reference reuses them and the learner never runs the encoder.")
    aux_coef: float = documented(0.0, "Weight of the caller's auxiliary loss (`make_update_fn(aux_loss_fn=...)`), added on every step, guided or not; jaxcraft's task trainers: the policy's features predict the target's bearing and visibility (net.goal.bearing_head, from the privileged observation) — perception supervision during RL; 0 = off.")
    critic_warmup_kl: bool = documented(True, "Keep the KL-to-reference term during the critic warm-up (holds a policy whose torso the critic shares); False = the policy gets no gradient at all during the warm-up (with a separate critic its params stay bit-identical).")

    def hl_gauss(self):
        """The `HLGauss` support of this config (value_head='hl_gauss')."""
        return HLGauss(self.hl_gauss_min, self.hl_gauss_max, self.hl_gauss_bins, self.hl_gauss_sigma_ratio)

    def validate(self) -> None:
        """Raise ConfigError (a ValueError) naming the first bad field, as every other section does."""
        checks = [
            ("lr", self.lr > 0, "must be > 0"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("max_grad_norm", self.max_grad_norm > 0, "must be > 0"),
            ("gamma", 0 <= self.gamma <= 1, "must be in [0, 1]"),
            ("gae_lambda", 0 <= self.gae_lambda <= 1, "must be in [0, 1]"),
            ("num_epochs", self.num_epochs >= 1, "must be >= 1"),
            ("num_minibatches", self.num_minibatches >= 1, "must be >= 1"),
            ("chunk_len", self.chunk_len >= 0, "must be >= 0"),
            ("clip_eps", self.clip_eps > 0, "must be > 0"),
            ("value_clip_eps", self.value_clip_eps is None or self.value_clip_eps > 0, "must be > 0 or None"),
            ("vf_coef", self.vf_coef >= 0, "must be >= 0"),
            ("critic_warmup_updates", self.critic_warmup_updates >= 0, "must be >= 0"),
            ("ent_coef", self.ent_coef >= 0, "must be >= 0"),
            ("value_norm_decay", 0 < self.value_norm_decay < 1, "must be in (0, 1)"),
            ("kl_coef", self.kl_coef >= 0, "must be >= 0"),
            ("aux_coef", self.aux_coef >= 0, "must be >= 0"),
            ("kl_decay", 0 < self.kl_decay <= 1, "must be in (0, 1]"),
            ("log_ratio_clip", self.log_ratio_clip is None or self.log_ratio_clip > 0, "must be > 0 or None"),
            ("value_head", self.value_head in ("scalar", "hl_gauss"), "must be 'scalar' or 'hl_gauss'"),
            ("hl_gauss_bins", self.hl_gauss_bins >= 2, "must be >= 2"),
            ("hl_gauss_max", self.hl_gauss_max > self.hl_gauss_min, "must exceed hl_gauss_min"),
            ("hl_gauss_sigma_ratio", self.hl_gauss_sigma_ratio > 0, "must be > 0"),
            ("value_clip_eps", self.value_head == "scalar" or self.value_clip_eps is None, "must be None with value_head='hl_gauss'"),
            ("max_approx_kl", self.max_approx_kl is None or self.max_approx_kl > 0, "must be > 0 or None"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise ConfigError(f"ppo.{name}={getattr(self, name)!r} {why}")

    @classmethod
    def rocket3(cls, **overrides: Any) -> "PPOConfig":
        """The ROCKET-3 fine-tuning recipe (arXiv 2507.23698, Table of RL hyper-parameters)."""
        base = dict(lr=2e-5, weight_decay=0.04, gamma=0.999, gae_lambda=0.95, clip_eps=0.2,
                    max_grad_norm=0.5, log_ratio_clip=1.03, kl_coef=0.2, kl_decay=0.9995, vf_coef=0.5,
                    num_epochs=1, ent_coef=0.0, value_norm=True)
        base.update(overrides)
        return cls(**base)
