"""What a frozen encoder knows: probes of its features for the side the target is on.

RL with `ppo.freeze_encoder` trains only the decision part on the encoder's features, so it can
steer no better than those features tell where the target is. This measures that bound on a
cloned student's own teacher demos (the renderer's truth and the teacher's camera-yaw labels):

    data = encoder_dataset(network, params, demos)           # in-view steps of every episode
    labels = turn_direction(data["teacher_yaw"])              # 0 left, 1 hold, 2 right
    test = data["episode"] >= cut                              # held-out episodes
    predict = fit_linear_probe(data["features"][~test], labels[~test])
    direction_recall(predict(data["features"][test]), labels[test])

and compares it with the student's own likeliest direction (`yaw_direction(probs)`) and with what
the true target centroid alone predicts (`centroid_direction`: a dead zone of about one pixel matches
the resolved servo's). A linear probe that beats the student says the policy under-uses its
features; one that matches it says the features themselves lack the target's side, so a frozen
encoder caps what RL can add (unfreeze it, or improve perception).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bridge import crossview as X
from jaxcraft.world import actions as A

LEFT, HOLD, RIGHT = 0, 1, 2
YAW = A.NAMES.index("camera_yaw")


def turn_direction(yaw_bins: np.ndarray) -> np.ndarray:
    """Camera-yaw bins → 0 left / 1 hold / 2 right; within one bin of the no-op counts as a hold
    (the ±0.6° corrections: `diagnose.teacher_state_table`'s convention)."""
    off = np.asarray(yaw_bins).astype(np.int64) - A.NOOP_CAMERA_BIN
    return (np.where(np.abs(off) <= 1, 0, np.sign(off)) + 1).astype(np.int32)


def yaw_direction(probs: np.ndarray) -> np.ndarray:
    """A policy's likeliest of left / no turn / right from its yaw-bin probabilities [..., bins]
    (the mass left of the no-op bin, on it, right of it)."""
    n = A.NOOP_CAMERA_BIN
    p3 = np.stack([probs[..., :n].sum(-1), probs[..., n], probs[..., n + 1:].sum(-1)], -1)
    return p3.argmax(-1).astype(np.int32)


def centroid_direction(col: np.ndarray, frame_size: int, dead_zone_px: float = 1.0) -> np.ndarray:
    """The side of the frame's centre the target's centroid column (in [0, 1]) is on; within
    `dead_zone_px` pixels of the centre counts as a hold."""
    px = (np.asarray(col) - 0.5) * frame_size
    return (np.where(np.abs(px) <= dead_zone_px, 0, np.sign(px)) + 1).astype(np.int32)


def direction_recall(pred: np.ndarray, label: np.ndarray) -> dict:
    """Accuracy, recall per class (left, hold, right; NaN for an absent class) and their mean
    (balanced accuracy, over the classes present)."""
    pred, label = np.asarray(pred), np.asarray(label)
    recall = [float((pred[label == c] == c).mean()) if (label == c).any() else float("nan") for c in range(3)]
    return {"accuracy": float((pred == label).mean()), "recall": recall, "balanced": float(np.nanmean(recall)),
            "steps": int(label.size)}


def fit_linear_probe(x: np.ndarray, y: np.ndarray, steps: int = 3000, lr: float = 1e-3,
                     weight_decay: float = 1e-4) -> Callable[[np.ndarray], np.ndarray]:
    """Softmax regression of 3-class labels y int[S] on features x float[S, F], standardised by the
    training set's mean and spread, classes weighted to equal total weight (the hold class dominates
    in-view steps); full-batch AdamW from zero weights (deterministic). Returns x → predicted class."""
    x = np.asarray(x, np.float32)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    counts = np.bincount(y, minlength=3)
    class_w = jnp.asarray(len(y) / (3 * np.maximum(counts, 1)), jnp.float32)
    xs, ys = jnp.asarray((x - mu) / sd), jnp.asarray(y, jnp.int32)
    opt = optax.adamw(lr, weight_decay=weight_decay)

    def loss(p):
        logp = jax.nn.log_softmax(xs @ p["w"] + p["b"])
        nll = -jnp.take_along_axis(logp, ys[:, None], axis=1)[:, 0]
        return (nll * class_w[ys]).sum() / class_w[ys].sum()

    def step(carry, _):
        p, s = carry
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    p0 = {"w": jnp.zeros((x.shape[1], 3)), "b": jnp.zeros(3)}
    (p, _), _ = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=steps))(p0)
    w, b = np.asarray(p["w"]), np.asarray(p["b"])
    return lambda z: (((np.asarray(z, np.float32) - mu) / sd) @ w + b).argmax(-1).astype(np.int32)


def encoder_dataset(network, params, demos: dict, chunk: int = 8) -> dict:
    """Every in-view step of every demo episode, host arrays [S, ...]: the encoder's features
    (`encode`, without a privileged critic's value-only tail), the student's yaw probabilities
    (its whole net from a zero state at the episode's start), the teacher's yaw bin, the true
    centroid (row, col) and the episode's index. Feed-forward nets (the features of a step do not
    depend on the steps before it)."""
    E, T = demos["action"].shape[:2]
    bins = A.NVEC[-1]
    tail = getattr(network, "privileged_dim", 0)

    @jax.jit
    def run(rgb, goal_rgb, goal_mask, family):
        L, N = rgb.shape[:2]
        per_ep = lambda a: jnp.broadcast_to(a[None], (L,) + a.shape)  # noqa: E731
        obs = {X.RGB: rgb, X.GOAL_RGB: per_ep(goal_rgb), X.GOAL_MASK: per_ep(goal_mask), X.FAMILY: per_ep(family)}
        f = network.apply(params, obs, method="encode")
        _, logits, _ = network.apply(params, network.initial_carry(N), obs, jnp.zeros((L, N), bool).at[0].set(True))
        return (f[..., :f.shape[-1] - tail] if tail else f), jax.nn.softmax(logits[..., -bins:])

    out = {k: [] for k in ("features", "probs", "teacher_yaw", "centroid", "episode")}
    for s in range(0, E, chunk):
        sl = slice(s, min(s + chunk, E))
        f, p = run(jnp.asarray(np.swapaxes(demos[X.RGB][sl], 0, 1)), jnp.asarray(demos[X.GOAL_RGB][sl]),
                   jnp.asarray(demos[X.GOAL_MASK][sl]), jnp.asarray(demos[X.FAMILY][sl]))
        f, p = np.asarray(f).swapaxes(0, 1), np.asarray(p).swapaxes(0, 1)          # [N, T, ...]
        m = demos["target_visible"][sl] & (np.arange(T)[None] < demos["length"][sl][:, None])
        out["features"].append(f[m])
        out["probs"].append(p[m])
        out["teacher_yaw"].append(demos["action"][sl][..., YAW][m])
        out["centroid"].append(demos["target_centroid"][sl][m])
        out["episode"].append(np.broadcast_to(np.arange(sl.start, sl.stop)[:, None], m.shape)[m])
    return {k: np.concatenate(v) for k, v in out.items()}


__all__ = ["turn_direction", "yaw_direction", "centroid_direction", "direction_recall", "fit_linear_probe",
           "encoder_dataset", "LEFT", "HOLD", "RIGHT"]
