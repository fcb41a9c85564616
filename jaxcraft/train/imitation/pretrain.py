"""Imitation pretraining (behaviour cloning) of a goal-conditioned policy on expert demos.

ROCKET-3 fine-tunes a policy that was first pretrained by imitation, with a KL penalty to
that frozen policy. This module provides the first stage on jaxcraft's own demonstrations
(`jaxcraft.tasks.demos`): windows of `window` steps cut from the episodes, the recurrent
policy unrolled over each window from a zero state (the window start counts as an episode
start), and

    loss = −Σ_{l,n} w[l,n] · log π(a*[l,n] | o[≤l,n], goal[n]) / Σ w,   w = valid · (1 + (ω − 1) · visible)
           + aux_coef · aux_loss(visible, centroid)          (when the net has aux heads)
           + map_coef · target_map_loss(z, cells, valid)      (a spatial fusion's heat map z, when the
                                                               demos hold the renderer's target mask)

where valid marks steps before the episode ended and ω (`visible_weight`) up-weights the steps
whose frame shows the target (demos' `target_visible`): they are the few steps where the teacher
steers by what it sees (19 % of a servo demo at distance 20; the rest is its memoryless search),
so with ω = 1 the search dominates the likelihood. With `mirror_in_view` (feed-forward nets),
each step whose frame shows the target is mirrored left ↔ right with probability ½ (frame,
target mask and centroid, strafe buttons, camera-yaw bin b ↦ B − 1 − b): the world seen in a
mirror needs the mirrored turn, so the student gets twice the steering examples and cannot
prefer one side (measured, it did not help: docs/tasks.md); the goal image is left as it is, and
out-of-view steps keep the teacher's right-handed search. Shapes are time-major [L, N].
The pretrained params are saved with orbax and loaded by the trainers through
`run.init_params` (they then also serve as the KL reference when `ppo.kl_coef > 0`).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

from bridge import crossview as X
from jaxcraft.nets.goal import aux_loss
from jaxcraft.nets.spatial import pool_mask, target_map_loss
from jaxcraft.ppo.config import documented
from jaxcraft.tasks.demos import unpack_mask
from jaxcraft.train.agent import init_network
from jaxcraft.world import actions as A


@dataclasses.dataclass(frozen=True)
class ImitationConfig:
    """Behaviour-cloning hyper-parameters: flags of `jaxcraft pretrain`, not experiment keys
    (`--set imitation.<field>` names the flag; jaxcraft.config.experiment.NOT_SECTIONS)."""

    steps: int = documented(2000, "Gradient steps.")
    batch_episodes: int = documented(16, "Windows per batch (N).")
    window: int = documented(64, "Steps per window (L); the GRU is unrolled over it from a zero state.")
    lr: float = documented(3e-4, "Adam step size.")
    max_grad_norm: float = documented(1.0, "Global gradient-norm clip.")
    aux_coef: float = documented(0.5, "Weight of the auxiliary visibility/centroid loss (nets with aux heads).")
    map_coef: float = documented(1.0, "Weight of the dense target loss: a spatial fusion's heat map against the renderer's target mask (demos of format 3; jaxcraft.nets.spatial.target_map_loss).")
    mirror_in_view: bool = documented(False, "Mirror each step that shows the target left/right with probability 1/2 (frame, mask, centroid, strafe, camera yaw); feed-forward nets only.")
    visible_weight: float = documented(1.0, "ω: weight of the action likelihood on steps whose frame shows the target (demos' target_visible) relative to the others; 1 = unweighted.")
    seed: int = documented(0, "PRNG seed of window sampling and init.")


def _check(demos: dict) -> tuple[int, int]:
    need = X.POLICY_KEYS + ("action", "length")
    missing = [k for k in need if k not in demos]
    if missing:
        raise ValueError(f"demonstrations lack the fields {missing}; got {sorted(demos)}")
    n, t = demos["action"].shape[:2]
    return n, t


def sample_windows(demos: dict, key: jax.Array, batch: int, window: int) -> dict:
    """A batch of time-major windows [L, N, ...] from episodes [E, T, ...] (jittable).

    Each window starts at a uniformly random step of a random episode's valid part.
    """
    e, t = demos["action"].shape[:2]
    k_ep, k_start = jax.random.split(key)
    ep = jax.random.randint(k_ep, (batch,), 0, e)
    length = demos["length"][ep]
    start = jnp.floor(jax.random.uniform(k_start, (batch,)) * jnp.maximum(length - window + 1, 1)).astype(jnp.int32)
    steps = jnp.clip(start[None, :] + jnp.arange(window)[:, None], 0, t - 1)          # [L, N]
    per_step = lambda x: x[ep[None, :], steps]
    per_ep = lambda x: jnp.broadcast_to(x[ep][None], (window,) + x[ep].shape)
    obs = {k: (per_ep if k in X.PER_EPISODE_KEYS else per_step)(demos[k]) for k in X.POLICY_KEYS}
    out = {"obs": obs, "action": per_step(demos["action"]),
           "valid": (start[None, :] + jnp.arange(window)[:, None]) < length[None, :],
           "reset": jnp.arange(window)[:, None].repeat(batch, 1) == 0}
    if "target_visible" in demos:
        out["visible"] = per_step(demos["target_visible"])
        out["centroid"] = per_step(demos["target_centroid"])
    if "target_mask" in demos:   # bit-packed on disk and in memory; unpacked per batch
        out["target_mask"] = unpack_mask(per_step(demos["target_mask"]), demos[X.RGB].shape[-2])
    return out


_LEFT, _RIGHT, _YAW = A.NAMES.index("left"), A.NAMES.index("right"), A.NAMES.index("camera_yaw")


def mirror_in_view(batch: dict, key: jax.Array) -> dict:
    """The batch with each step that shows the target mirrored left ↔ right with probability ½
    (see the module doc; needs `visible`). Pure and jittable; other steps and fields unchanged."""
    L, N = batch["valid"].shape
    flip = batch["visible"] & jax.random.bernoulli(key, 0.5, (L, N))
    pick = lambda a, b: jnp.where(flip.reshape((L, N) + (1,) * (a.ndim - 2)), b, a)  # noqa: E731
    out = dict(batch)
    out["obs"] = {**batch["obs"], X.RGB: pick(batch["obs"][X.RGB], batch["obs"][X.RGB][:, :, :, ::-1])}
    action = batch["action"]
    mirrored = action.at[..., _LEFT].set(action[..., _RIGHT]).at[..., _RIGHT].set(action[..., _LEFT])
    mirrored = mirrored.at[..., _YAW].set(A.NVEC[_YAW] - 1 - action[..., _YAW])
    out["action"] = pick(action, mirrored)
    out["centroid"] = pick(batch["centroid"], batch["centroid"].at[..., 1].set(1.0 - batch["centroid"][..., 1]))
    if "target_mask" in batch:
        out["target_mask"] = pick(batch["target_mask"], batch["target_mask"][..., ::-1])
    return out


def bc_loss(params: Any, network: Any, dist: Any, batch: dict, aux_coef: float = 0.0,
            map_coef: float = 0.0, visible_weight: float = 1.0) -> tuple[jax.Array, dict]:
    """Masked negative log-likelihood of the expert's actions (+ aux loss); see module doc."""
    valid = batch["valid"]
    chex.assert_rank(valid, 2)
    L, N = valid.shape
    chex.assert_shape(batch["action"], (L, N, None))
    carry = network.initial_carry(N)
    use_aux = (bool(aux_coef) and (getattr(network, "aux_heads", False) or getattr(network, "spatial", False))
               and "visible" in batch)
    if use_aux:   # one pass of the torso for both the policy and the aux heads
        _, logits, _, pred = network.apply(params, carry, batch["obs"], batch["reset"], method="with_aux")
    else:
        _, logits, _ = network.apply(params, carry, batch["obs"], batch["reset"])
    logp = dist.log_prob(logits, batch["action"])                            # [L, N]
    v = valid.astype(jnp.float32)
    w = v
    if visible_weight != 1.0:
        if "visible" not in batch:
            raise ValueError("visible_weight needs demos with target_visible")
        w = v * (1.0 + (visible_weight - 1.0) * batch["visible"].astype(jnp.float32))
    nll = -(logp * w).sum() / jnp.maximum(w.sum(), 1.0)
    match = dist.mode(logits) == batch["action"]
    acc = (match.all(-1) * v).sum() / jnp.maximum(v.sum(), 1.0)
    metrics = {"nll": nll, "action_exact_match": acc}
    if "visible" in batch:   # the camera-yaw choice (last action dim) where the teacher steers by sight
        seen = v * batch["visible"].astype(jnp.float32)
        metrics["yaw_match_in_view"] = (match[..., -1] * seen).sum() / jnp.maximum(seen.sum(), 1.0)
    loss = nll
    if use_aux:
        a_loss, a_metrics = aux_loss(pred, batch["visible"] & valid, batch["centroid"])
        loss = loss + aux_coef * a_loss
        metrics.update(a_metrics)
        if map_coef and "target_map" in pred and "target_mask" in batch:
            z = pred["target_map"]
            # A cell is the target's if any of its pixels is: a block 20 away covers ~2 of a cell's 16
            # pixels, and a soft label of 1/8 would teach the map that it is not there.
            cells = (pool_mask(batch["target_mask"], *z.shape[-2:]) > 0).astype(jnp.float32)
            m_loss, m_metrics = target_map_loss(z, cells, valid)
            loss = loss + map_coef * m_loss
            metrics.update(m_metrics)
    return loss, metrics


def pretrain(network: Any, dist: Any, demos: dict, config: ImitationConfig, params: Any = None,
             log_every: int = 100, log=print, on_row=None) -> tuple[Any, list[dict]]:
    """Behaviour cloning: returns (params, metric rows every `log_every` steps).

    log: callable(JSON line) per row (None = quiet); on_row: callable(row dict) per row (progress, logs)."""
    _check(demos)
    # device_put copies each field once; jnp.asarray of a numpy array would stage a second copy
    # (2× the frames at the peak: 64-px demos of 2,048 episodes ran out of 24 GiB that way).
    demos = jax.device_put(dict(demos))
    key = jax.random.key(config.seed)
    k_init, key = jax.random.split(key)
    if params is None:   # on one window's observation (op by op, as it always was: a jitted init can differ in a last bit)
        params = init_network(network, sample_windows(demos, k_init, 1, 1)["obs"], k_init)
    opt = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.lr))
    opt_state = opt.init(params)

    # The demos are an argument, not a closed-over constant: XLA would embed gigabytes of
    # frames in the program (the quickstart's 2,048 episodes: compile 166 s instead of 16 s).
    if config.mirror_in_view and network.recurrent:
        raise ValueError("mirror_in_view mirrors single steps: it needs a feed-forward net (net.core_size=0)")
    if config.mirror_in_view and "target_visible" not in demos:
        raise ValueError("mirror_in_view needs demos with target_visible")

    @jax.jit
    def step(params, opt_state, demos, key):
        batch = sample_windows(demos, key, config.batch_episodes, config.window)
        if config.mirror_in_view:   # its own key: the windows stay those of an unmirrored run
            batch = mirror_in_view(batch, jax.random.fold_in(key, 1))
        (loss, m), grads = jax.value_and_grad(bc_loss, has_aux=True)(params, network, dist, batch, config.aux_coef,
                                                                    config.map_coef, config.visible_weight)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, {**m, "loss": loss}

    rows = []
    for i in range(config.steps):
        key, sub = jax.random.split(key)
        params, opt_state, m = step(params, opt_state, demos, sub)
        if (i + 1) % log_every == 0 or i + 1 == config.steps:
            row = {"step": i + 1, **{k: float(v) for k, v in m.items()}}
            rows.append(row)
            if log:
                log(json.dumps(row))
            if on_row is not None:
                on_row(row)
    return params, rows


def save_params(path: str | pathlib.Path, params: Any) -> pathlib.Path:
    """Save params with orbax (a directory); refuses to overwrite an existing one."""
    path = pathlib.Path(path).absolute()
    if path.exists():
        raise FileExistsError(f"{path} exists; pretrained params are never overwritten — choose another path")
    _checkpointer().save(path, ocp.args.StandardSave(params))
    return path


def _checkpointer() -> ocp.Checkpointer:
    # Synchronous: the params are on disk (atomically renamed) when `save` returns.
    return ocp.Checkpointer(ocp.StandardCheckpointHandler())


def params_saved_at(path: str | pathlib.Path) -> bool:
    """Cheap check (no restore, no network): does `path` look like params written by `save_params`?"""
    path = pathlib.Path(path)
    return (path / "_METADATA").is_file() or (path / "_CHECKPOINT_METADATA").is_file()


def load_params(path: str | pathlib.Path, like: Any, fresh: tuple[str, ...] = ()) -> Any:
    """Load params saved by `save_params` into the structure of `like` (clear error otherwise).

    fresh: names of top-level modules (under "params") that may be missing from the saved params
    or shaped differently there — a value-only part the cloned policy never had (a privileged
    critic's input layer, a value head that reads it): those keep `like`'s values; everything else
    must match exactly."""
    path = pathlib.Path(path).absolute()
    if not path.exists():
        raise FileNotFoundError(f"pretrained params {path} do not exist (make them with `jaxcraft pretrain`, "
                                "or set run.init_params= to start from a random init)")
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), like)
    try:
        return _checkpointer().restore(path, ocp.args.StandardRestore(abstract))
    except Exception as e:  # noqa: BLE001 - orbax raises many types for a mismatching tree
        error = ValueError(f"pretrained params at {path} do not fit this network: {type(e).__name__}: {str(e)[:300]}")
    if not fresh:
        raise error from None
    try:
        saved = _checkpointer().restore(path)
        kept = {k: v for k, v in saved["params"].items() if k not in fresh}
        mine = {k: v for k, v in like["params"].items() if k not in fresh}
        fitted = jax.tree.map(lambda s, m: jnp.asarray(s, m.dtype) if np.shape(s) == np.shape(m) else None, kept, mine)
        if jax.tree.structure(fitted) != jax.tree.structure(mine) or any(x is None for x in jax.tree.leaves(fitted)):
            raise error
    except Exception:  # noqa: BLE001 - the saved tree differs outside the fresh parts too
        raise error from None
    return {**like, "params": {**like["params"], **fitted}}
