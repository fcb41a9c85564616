"""Student perception: does a goal-conditioned policy see its target in its own frame?

Success rates say *that* a cloned or fine-tuned student fails, not *why*. This rolls the student
out on given task ids and, at every step it is still in its episode, records what it perceived
against the truth and what the visual-servo teacher would have done at the same state:

    trace = perception_rollout(env, env_params, network, params, dist, task_ids, max_steps, key)
    rows = perception_table(trace, frame_size)        # one row per distance bin, and "all"
    summary = episode_summary(trace)                   # episodes: target seen, first seen, success
    print(format_report(rows, summary))

Per step (truth from the renderer, `info["target_visible"]` / `info["target_centroid"]`):
  * distance: eye-to-target distance in blocks (`task.prev_distance`);
  * visible / centroid: the target is truly in view / its pixel centroid (row, col in [0, 1]);
  * aux_visible / aux_centroid: the student's auxiliary heads (`with_aux`; NaN without aux heads);
  * yaw / servo_yaw: the camera-yaw bin the student sampled and the servo's (`servo_act`) bin.

Table columns per distance bin: steps; % with the target truly in view; aux visibility recall
P(σ(z) > ½ | visible) and precision P(visible | σ(z) > ½); median centroid error ‖ĉ − c‖ · frame
size in pixels over truly visible steps; and "turns the servo's way": the share of steps where
sign(yaw − noop) = sign(servo_yaw − noop) (left / none / right), with the target in view and out
of it; the same in view where the servo turns by ≥ 1.6° (two bins off the no-op: the target is a
pixel or more off the crosshair of a 32-px frame, so its side is in the frame; the ±0.6° bins
that centre it are sub-pixel corrections, ~17 % of the servo's in-view steps); and "keeps it in
view": P(target in view at t + 1 | in view at t, episode still running). The student acts
(sampled, or greedy), the servo only labels; the same task ids and key give every policy the same
worlds.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcraft.eval.probe import turn_direction
from jaxcraft.tasks.env import target_in_frame
from jaxcraft.tasks.servo import servo_act, servo_init
from jaxcraft.train.imitation.pretrain import sample_windows
from jaxcraft.world import actions as A

DISTANCE_BINS = ((0.0, 5.0), (5.0, 10.0), (10.0, 15.0), (15.0, 25.0))
YAW = A.NAMES.index("camera_yaw")


@struct.dataclass
class PerceptionTrace:
    """Per step of N episodes, [N, T]; a step counts while `alive` (before its episode ended)."""

    alive: jax.Array         # bool
    distance: jax.Array      # float32 blocks, eye to target centre
    visible: jax.Array       # bool, target truly in view
    centroid: jax.Array      # float32[..., 2] true target centroid (row, col in [0, 1])
    aux_visible: jax.Array   # float32 σ(visible logit); NaN without aux heads
    aux_centroid: jax.Array  # float32[..., 2]; NaN without aux heads
    yaw: jax.Array           # int32 the student's camera-yaw bin
    servo_yaw: jax.Array     # int32 the servo teacher's camera-yaw bin at the same state
    success: jax.Array       # bool, the episode succeeded at this step


@functools.partial(jax.jit, static_argnums=(0, 2, 4, 6, 8))
def perception_rollout(env, env_params, network, params, dist, task_ids: jax.Array, max_steps: int,
                       key: jax.Array, greedy: bool = False) -> PerceptionTrace:
    """Roll `network` (the `jaxcraft.ppo` net contract) out on task_ids int32[N] for `max_steps`."""
    n = task_ids.shape[0]
    has_aux = bool(getattr(network, "aux_heads", False))
    obs, state, frame = jax.vmap(lambda i: env.reset_to_task_frame(i, env_params))(task_ids)
    vis, cen = jax.vmap(target_in_frame)(frame, state.task.target_id)

    def step(c, t):
        state, carry, obs, vis, cen, alive = c
        k_act, k_env = jax.random.split(jax.random.fold_in(key, t))
        x, reset = jax.tree.map(lambda a: a[None], obs), jnp.full((1, n), t == 0)
        if has_aux:
            carry, logits, _, aux = network.apply(params, carry, x, reset, method="with_aux")
            aux_v, aux_c = jax.nn.sigmoid(aux["visible_logit"][0]), aux["centroid"][0]
        else:
            carry, logits, _ = network.apply(params, carry, x, reset)
            aux_v, aux_c = jnp.full((n,), jnp.nan), jnp.full((n, 2), jnp.nan)
        action = (dist.mode(logits[0]) if greedy
                  else jax.vmap(dist.sample)(jax.random.split(k_act, n), logits[0])).astype(jnp.int32)
        servo = jax.vmap(lambda s: servo_act(env, env_params, s, servo_init(env, s), None)[1])(state)
        obs2, state2, _, term, trunc, info = jax.vmap(lambda k, s, a: env.step_env(k, s, a, env_params))(
            jax.random.split(k_env, n), state, action)
        row = PerceptionTrace(alive=alive, distance=state.task.prev_distance, visible=vis, centroid=cen,
                              aux_visible=aux_v, aux_centroid=aux_c, yaw=action[:, YAW], servo_yaw=servo[:, YAW],
                              success=alive & info["success"])
        alive = alive & ~(term | trunc)
        return (state2, carry, obs2, info["target_visible"], info["target_centroid"], alive), row

    init = (state, network.initial_carry(n), obs, vis, cen, jnp.ones((n,), bool))
    _, rows = jax.lax.scan(step, init, jnp.arange(max_steps))
    return jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), rows)   # [T, N, ...] → [N, T, ...]


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")


def perception_table(trace: PerceptionTrace, frame_size: int, bins=DISTANCE_BINS) -> list[dict]:
    """One row per distance bin [lo, hi) and a last row "all" (see the module doc); host numbers."""
    t = jax.tree.map(np.asarray, trace)
    turn = lambda b: np.sign(b.astype(np.int64) - A.NOOP_CAMERA_BIN)  # noqa: E731 — left / none / right
    agree = turn(t.yaw) == turn(t.servo_yaw)
    coarse = np.abs(t.servo_yaw.astype(np.int64) - A.NOOP_CAMERA_BIN) >= 2
    # Steps whose successor is still in the episode, and whether the target is in view there.
    has_next = np.zeros_like(t.alive)
    has_next[:, :-1] = t.alive[:, 1:]
    next_visible = np.zeros_like(t.visible)
    next_visible[:, :-1] = t.visible[:, 1:]
    pred = t.aux_visible > 0.5
    err = np.linalg.norm(t.aux_centroid - t.centroid, axis=-1) * frame_size
    rows = []
    for name, lo, hi in [(f"{lo:g}–{hi:g}", lo, hi) for lo, hi in bins] + [("all", -np.inf, np.inf)]:
        m = t.alive & (t.distance >= lo) & (t.distance < hi)
        v = m & t.visible
        rows.append({"distance": name, "steps": int(m.sum()), "in_view": _ratio(v.sum(), m.sum()),
                     "aux_recall": _ratio((pred & v).sum(), v.sum()),
                     "aux_precision": _ratio((pred & v).sum(), (pred & m).sum()),
                     "centroid_error_px": float(np.median(err[v])) if v.any() else float("nan"),
                     "turn_agree_in_view": _ratio((agree & v).sum(), v.sum()),
                     "turn_agree_out_of_view": _ratio((agree & m & ~t.visible).sum(), (m & ~t.visible).sum()),
                     "turn_agree_in_view_coarse": _ratio((agree & v & coarse).sum(), (v & coarse).sum()),
                     "keeps_in_view": _ratio((v & has_next & next_visible).sum(), (v & has_next).sum())})
    return rows


def episode_summary(trace: PerceptionTrace) -> dict:
    """Episodes, success rate, share whose target came into view, the median first step it did,
    and the success rate of those episodes."""
    alive, visible, success = (np.asarray(x) for x in (trace.alive, trace.visible, trace.success))
    seen_steps = alive & visible
    seen = seen_steps.any(axis=1)
    won = success.any(axis=1)
    first = np.argmax(seen_steps, axis=1)[seen]
    return {"episodes": int(alive.shape[0]), "success": _ratio(won.sum(), won.size),
            "target_seen": _ratio(seen.sum(), seen.size),
            "first_seen_median_step": float(np.median(first)) if seen.any() else float("nan"),
            "success_when_seen": _ratio((won & seen).sum(), seen.sum())}


def format_report(rows: list[dict], summary: dict, title: str = "student perception") -> str:
    """Markdown: the distance table and the episode summary."""
    pct = lambda x: "–" if np.isnan(x) else f"{100 * x:.1f} %"  # noqa: E731
    px = lambda x: "–" if np.isnan(x) else f"{x:.1f}"  # noqa: E731
    lines = [f"## {title}", "",
             "| distance (blocks) | steps | target in view | aux vis. recall | aux vis. precision | centroid error, median (px) "
             "| turns the servo's way, in view | … out of view | … in view, servo turning ≥ 1.6° | keeps it in view |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['distance']} | {r['steps']:,} | {pct(r['in_view'])} | {pct(r['aux_recall'])} | "
              f"{pct(r['aux_precision'])} | {px(r['centroid_error_px'])} | {pct(r['turn_agree_in_view'])} | "
              f"{pct(r['turn_agree_out_of_view'])} | {pct(r['turn_agree_in_view_coarse'])} | "
              f"{pct(r['keeps_in_view'])} |" for r in rows]
    s = summary
    lines += ["", f"{s['episodes']} episodes: success {pct(s['success'])}; target came into view in "
              f"{pct(s['target_seen'])} (median first at step {px(s['first_seen_median_step'])}), "
              f"of which {pct(s['success_when_seen'])} succeeded."]
    return "\n".join(lines)


def demo_yaw_probs(network, params, demos: dict, key: jax.Array, windows: int = 64, window: int = 16,
                   batches: int = 8) -> dict:
    """The student's camera-yaw probabilities on its teacher's states: `batches` × `windows`
    windows of `window` steps sampled from demos (as cloning samples them, from a zero state),
    host arrays over their valid steps: {"probs": float[S, bins], "teacher": int[S], "visible": bool[S]}."""
    d = {k: jnp.asarray(v) for k, v in demos.items()}
    bins = A.NVEC[-1]

    @jax.jit
    def one(k):
        b = sample_windows(d, k, windows, window)
        _, logits, _ = network.apply(params, network.initial_carry(windows), b["obs"], b["reset"])
        return jax.nn.softmax(logits[..., -bins:]), b["action"][..., -1], b["visible"], b["valid"]

    out = {"probs": [], "teacher": [], "visible": []}
    for i in range(batches):
        probs, teacher, visible, valid = (np.asarray(x) for x in one(jax.random.fold_in(key, i)))
        for name, x in (("probs", probs), ("teacher", teacher), ("visible", visible)):
            out[name].append(x[valid])
    return {k: np.concatenate(v) for k, v in out.items()}


def teacher_state_table(probs: np.ndarray, teacher: np.ndarray, visible: np.ndarray) -> list[dict]:
    """Rows by what the teacher does: with the target in view it turns left or right by ≥ 1.6°
    (two bins off the no-op) or holds (within a bin); out of view it searches. Columns: steps, the
    student's mean probability of turning left / not at all / right, and the share of steps where
    the student's likeliest of the three is the teacher's direction."""
    off = np.asarray(teacher).astype(np.int64) - A.NOOP_CAMERA_BIN
    n = A.NOOP_CAMERA_BIN
    p3 = np.stack([probs[:, :n].sum(-1), probs[:, n], probs[:, n + 1:].sum(-1)], -1)   # left, none, right
    want = turn_direction(teacher)                               # a hold within one bin counts as no turn
    rows = []
    for name, m in (("in view, teacher turns left ≥ 1.6°", visible & (off <= -2)),
                    ("in view, teacher holds (≤ 0.6°)", visible & (np.abs(off) <= 1)),
                    ("in view, teacher turns right ≥ 1.6°", visible & (off >= 2)),
                    ("out of view (the teacher searches)", ~visible)):
        k = int(m.sum())
        mean = p3[m].mean(0) if k else np.full(3, np.nan)
        rows.append({"teacher": name, "steps": k, "p_left": float(mean[0]), "p_none": float(mean[1]),
                     "p_right": float(mean[2]),
                     "direction_match": _ratio((p3[m].argmax(-1) == want[m]).sum(), k)})
    return rows


def format_teacher_state_table(rows: list[dict], title: str = "on the teacher's states") -> str:
    pct = lambda x: "–" if np.isnan(x) else f"{100 * x:.1f} %"  # noqa: E731
    lines = [f"## {title}", "", "| teacher | steps | student P(left) | P(no turn) | P(right) | likeliest direction = teacher's |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['teacher']} | {r['steps']:,} | {r['p_left']:.2f} | {r['p_none']:.2f} | {r['p_right']:.2f} | "
              f"{pct(r['direction_match'])} |" for r in rows]
    return "\n".join(lines)


__all__ = ["DISTANCE_BINS", "PerceptionTrace", "perception_rollout", "perception_table", "episode_summary",
           "format_report", "demo_yaw_probs", "teacher_state_table", "format_teacher_state_table"]
