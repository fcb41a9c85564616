"""Teacher demonstrations on disk (for imitation pretraining): record and load.

`record_demos(env, params, task_ids, out_dir, teacher="expert")` runs a scripted teacher
(`teachers.py`: the planning expert or the visual servo) on each task id (vmapped, one jitted
`lax.scan` of `max_steps` steps per shard) and writes

    out_dir/manifest.json       format name + version, teacher, noise, world/task statics, split,
                                episode limit, key seed, the optional TaskConfig, counts, the shard list, the
                                field table below
    out_dir/shard_00000.npz ... N = the shard's episodes, T = max_steps, H×W = the frame size:

    rgb              uint8[N, T, H, W, 3]  observation t: the frame action t was chosen on
                                           (t = 0: the reset frame)
    action           int32[N, T, 11]       the teacher's action at t (actions.py layout)
    target_visible   bool[N, T]            target pixels in frame t    } step info of step t-1
    target_centroid  float32[N, T, 2]      their (row, col) in [0, 1]  } (t = 0: the reset frame,
                                                                       }  same `target_in_frame`)
    target_mask      uint8[N, T, H, ⌈W/8⌉] which pixels of frame t show the target (the renderer's
                                           object ids), bit-packed along W (`np.packbits`, first
                                           pixel in the high bit; `unpack_mask`); format 3 on
    length           int32[N]              steps taken: success step + 1, or T without success;
                                           entries t >= length are padding (zeros)
    success          bool[N]               the task was completed within T steps
    goal_rgb         uint8[N, H, W, 3]     the task's goal image
    goal_mask        uint8[N, H, W]        its exact target mask
    family           int32[N]              index into FAMILIES
    task_id          int32[N]              reset_to_task(task_id) gives the episode's start

Episodes are exactly reproducible: step t of an episode draws its keys from
`step_keys(key_seed, task_id, t)` = (teacher key, env key), so `env.step_env(env_key, ...)` with
the recorded actions from `env.reset_to_task(task_id, params)` replays the recorded frames —
bit for bit when the replay is vmapped over ≥ 2 envs like the recording; an unbatched step
rounds the camera rays differently (ULP level), which changes the odd pixel by a few levels.
`load_demos(out_dir)` returns {field: array} over all shards (`load_manifest(out_dir)` the
manifest); both raise `DemoFormatError` (a ValueError) naming the file and the field on any
mismatch with the format. Directories of format 2 (no `target_mask`) still load, without the
field and with a one-line notice: a student cloned on them gets no dense target loss.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import sys
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

from bridge import crossview as X
from jaxcraft.tasks.env import target_in_frame, target_mask
from jaxcraft.tasks.params import SPLIT_CODE
from jaxcraft.tasks.teachers import get_teacher

FORMAT, VERSION = "jaxcraft-demos", 3   # 2: task ids with reserved family/distance slots; 3: target_mask
READABLE_VERSIONS = (2, 3)
# The policy's observation fields as the schema lays them out (`bridge.crossview`): the goal's once
# per episode, the others per step.
_OBS = {f.name: (f.dtype, ("N",) + (() if f.per_episode else ("T",)) + (("H", "W") if f.framed else ()) + f.tail)
        for f in X.LAYOUT if f.name in X.POLICY_KEYS}
# name → (dtype, shape with N/T/H/W placeholders), in the files' order
FIELDS = {
    X.RGB: _OBS[X.RGB], "action": ("int32", ("N", "T", len(X.NVEC))),
    "target_visible": ("bool", ("N", "T")), "target_centroid": ("float32", ("N", "T", 2)),
    "length": ("int32", ("N",)), "success": ("bool", ("N",)), X.GOAL_RGB: _OBS[X.GOAL_RGB],
    X.GOAL_MASK: _OBS[X.GOAL_MASK], X.FAMILY: _OBS[X.FAMILY], "task_id": ("int32", ("N",)),
}
assert set(_OBS) <= set(FIELDS), "every policy field of the observation schema is a demo field"
# Fields a directory may lack (recorded before they existed, or by a collector that has no
# renderer truth); W8 = ⌈W/8⌉.
OPTIONAL_FIELDS = {"target_mask": ("uint8", ("N", "T", "H", "W8"))}
_PER_STEP = (X.RGB, "action", "target_visible", "target_centroid", "target_mask")


def unpack_mask(packed: jax.Array, width: int) -> jax.Array:
    """bool[..., H, width] of a bit-packed mask uint8[..., H, ⌈width/8⌉] (jittable; `np.packbits` order)."""
    bits = (packed[..., None] >> jnp.arange(7, -1, -1, dtype=jnp.uint8)) & 1
    return bits.reshape(packed.shape[:-1] + (-1,))[..., :width].astype(bool)


class DemoFormatError(ValueError):
    """A demo directory does not match the format (the message names the file and field)."""


def step_keys(key_seed, task_id, t) -> tuple[jax.Array, jax.Array]:
    """(expert key, env key) of step t of the episode of `task_id`."""
    k = jax.random.fold_in(jax.random.fold_in(jax.random.key(key_seed), task_id), t)
    k_exp, k_env = jax.random.split(k)
    return k_exp, k_env


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def rollout(env, params, task_ids: jax.Array, key_seed: jax.Array, max_steps: int, teacher: str = "expert",
            noise: float | jax.Array = 0.0) -> dict:
    """Teacher episodes of task_ids int32[N]: the per-step fields [N, T, ...], `success_t`
    bool[N, T] (success at step t) and the per-episode goal fields (no padding applied).

    noise: per-step probability of *executing* a uniformly random action instead of the
    teacher's; the recorded action is always the teacher's (DART-style noise injection: the
    demonstrations then show how the teacher recovers from the kind of mistakes a student makes).
    A traced argument: every noise level runs one compiled program (with noise 0 the coin never
    comes up, and its keys are folded apart from the teacher's and the env's, so the episodes are
    those of a program without the coin).
    """
    chosen = get_teacher(teacher)
    teacher_init, teacher_act = chosen.init, chosen.act
    nvec = jnp.asarray(env.action_space(params).nvec, jnp.int32)

    def one(task_id):
        obs, state, frame = env.reset_to_task_frame(task_id, params)
        vis, cen = target_in_frame(frame, state.task.target_id)
        carry = teacher_init(env, state)

        def step(c, t):
            state, carry, rgb, vis, cen, mask = c
            k_exp, k_env = step_keys(key_seed, task_id, t)
            carry, action = teacher_act(env, params, state, carry, k_exp)
            k_coin, k_rand = jax.random.split(jax.random.fold_in(k_exp, 1))
            random_action = jax.random.randint(k_rand, nvec.shape, 0, nvec)
            executed = jnp.where(jax.random.uniform(k_coin) < noise, random_action, action)
            obs, state, _, _, _, info = env.step_env(k_env, state, executed, params)
            new = (state, carry, obs[X.RGB], info["target_visible"], info["target_centroid"], info["target_mask"])
            return new, (rgb, action, vis, cen, mask, info["success"])

        init = (state, carry, obs[X.RGB], vis, cen, target_mask(frame, state.task.target_id))
        _, (rgb, action, vis, cen, mask, succ) = jax.lax.scan(step, init, jnp.arange(max_steps))
        return dict(rgb=rgb, action=action, target_visible=vis, target_centroid=cen, target_mask=mask, success_t=succ,
                    goal_rgb=obs[X.GOAL_RGB], goal_mask=obs[X.GOAL_MASK], family=state.task.family,
                    task_id=state.task.task_id)
    return jax.vmap(one)(task_ids)


def to_file_format(out: dict, n: int) -> dict:
    """Host arrays of the first n episodes in the file format (lengths, padding zeroed)."""
    out = {k: np.asarray(v)[:n] for k, v in out.items()}
    succ_t = out.pop("success_t")
    T = succ_t.shape[1]
    success = succ_t.any(1)
    length = np.where(success, succ_t.argmax(1) + 1, T).astype(np.int32)
    pad = np.arange(T)[None, :] >= length[:, None]
    for k in _PER_STEP:
        if k in out:
            out[k] = np.where(pad.reshape(pad.shape + (1,) * (out[k].ndim - 2)), 0, out[k]).astype(out[k].dtype)
    if "target_mask" in out and out["target_mask"].dtype == bool:
        out["target_mask"] = np.packbits(out["target_mask"], axis=-1)
    out.update(length=length, success=success)
    fields = {**FIELDS, **{k: v for k, v in OPTIONAL_FIELDS.items() if k in out}}
    return {k: out[k].astype(fields[k][0]) for k in fields}


def _atomic_write(path: pathlib.Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def record_demos(env, params, task_ids, out_dir, max_steps: int = 600, shard_size: int = 32, key_seed: int = 0,
                 config=None, overwrite: bool = False, teacher: str = "expert", noise: float = 0.0,
                 progress=None, collect=None, provenance: dict | None = None) -> dict:
    """Record `teacher` episodes of `task_ids` into `out_dir` (see the module doc); returns the manifest.

    Shards hold `shard_size` episodes (the last one fewer; it is padded for the rollout so all
    shards share one compiled program). `config`: the TaskConfig, stored in the manifest.
    Memory per shard ≈ shard_size · max_steps · H · W · 3 bytes of frames.
    progress: optional callable(shard dict: file, episodes, successes) after each shard is written.
    collect: optional callable(task_ids int32[n]) -> the `rollout` dict of those episodes, in place
    of the teacher's own rollout (DAgger: the student acts, the teacher labels; `jaxcraft.tasks.dagger`);
    provenance: extra manifest entries saying how the episodes were collected.
    """
    out_dir = pathlib.Path(out_dir)
    ids = np.asarray(task_ids, np.int32).reshape(-1)
    get_teacher(teacher)   # an unknown name fails before any work
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise}")
    if len(ids) == 0 or max_steps < 1 or shard_size < 1:
        raise ValueError(f"need task ids, max_steps >= 1 and shard_size >= 1 (got {len(ids)}, {max_steps}, {shard_size})")
    if (out_dir / "manifest.json").exists() and not overwrite:
        raise FileExistsError(f"{out_dir / 'manifest.json'} exists (pass overwrite=True to replace it)")
    out_dir.mkdir(parents=True, exist_ok=True)
    size = min(shard_size, len(ids))
    shards = []
    for i, lo in enumerate(range(0, len(ids), size)):
        chunk = ids[lo: lo + size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk))])
        if collect is None:
            out = rollout(env, params, jnp.asarray(padded), jnp.asarray(key_seed, jnp.int32), max_steps,
                          teacher, float(noise))
        else:
            out = collect(jnp.asarray(padded))
        arrays = to_file_format({k: v for k, v in out.items() if k in FIELDS or k in OPTIONAL_FIELDS or k == "success_t"},
                                len(chunk))
        name = f"shard_{i:05d}.npz"
        _atomic_write(out_dir / name, lambda f: np.savez_compressed(f, **arrays))
        shards.append(dict(file=name, episodes=len(chunk), successes=int(arrays["success"].sum())))
        if progress is not None:
            progress(shards[-1])
    split = {v: k for k, v in SPLIT_CODE.items()}[int(params.task.split_code)]
    manifest = dict(
        format=FORMAT, version=VERSION, teacher=teacher, noise=float(noise), world_static=dataclasses.asdict(env.static),
        task_static=dataclasses.asdict(env.task_static), split=split,
        max_steps_in_episode=int(params.max_steps_in_episode), max_steps=int(max_steps), key_seed=int(key_seed),
        frame=[env.static.height, env.static.width], task_config=dataclasses.asdict(config) if config else None,
        num_episodes=int(len(ids)), num_success=sum(s["successes"] for s in shards), shards=shards,
        fields={k: dict(dtype=d, shape=list(s)) for k, (d, s) in {**FIELDS, **OPTIONAL_FIELDS}.items() if k in arrays},
        **(provenance or {}))
    _atomic_write(out_dir / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1).encode()))
    return manifest


def load_manifest(out_dir) -> dict:
    """The validated manifest.json of a demo directory (format, version, required fields)."""
    path = pathlib.Path(out_dir) / "manifest.json"
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        raise DemoFormatError(f"{path}: missing (not a demo directory?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DemoFormatError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise DemoFormatError(f"{path}: field 'format' is {m.get('format') if isinstance(m, dict) else m!r}, "
                              f"expected {FORMAT!r}")
    if m.get("version") not in READABLE_VERSIONS:
        raise DemoFormatError(f"{path}: field 'version' is {m.get('version')!r}, this reader supports "
                              f"{', '.join(map(str, READABLE_VERSIONS))}")
    for key, typ in (("max_steps", int), ("frame", list), ("shards", list), ("num_episodes", int)):
        if not isinstance(m.get(key), typ):
            raise DemoFormatError(f"{path}: field {key!r} missing or not a {typ.__name__}")
    return m


def load_demos(out_dir, notice=None) -> dict:
    """All episodes of a demo directory as {field: numpy array concatenated over shards} (the
    FIELDS and the OPTIONAL_FIELDS its manifest lists; `load_manifest` gives the manifest);
    validates every shard's fields (dtype, shape, lengths) against the manifest.

    notice: callable(one line) told which optional fields the directory lacks (default: stderr)."""
    out_dir = pathlib.Path(out_dir)
    m = load_manifest(out_dir)
    T, (H, W) = m["max_steps"], m["frame"]
    listed = m.get("fields") if isinstance(m.get("fields"), dict) else {}
    fields = {**FIELDS, **{k: v for k, v in OPTIONAL_FIELDS.items() if k in listed}}
    missing = [k for k in OPTIONAL_FIELDS if k not in fields]
    if missing:
        (notice or _stderr)(f"note: {out_dir} has no {', '.join(missing)} (demo format {m['version']}): "
                            "a student cloned on it gets no dense target loss")
    # Each field is preallocated for every episode and filled shard by shard, so loading holds the
    # set once plus one shard (concatenating the shards at the end would hold it twice).
    total = sum(int(shard.get("episodes") or 0) for shard in m["shards"])
    out, filled = {}, 0
    for shard in m["shards"]:
        path = out_dir / str(shard.get("file"))
        dims = dict(N=shard.get("episodes"), T=T, H=H, W=W, W8=(W + 7) // 8)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise DemoFormatError(f"{path}: shard listed in the manifest is missing") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise DemoFormatError(f"{path}: unreadable shard ({type(e).__name__}: {e})") from None
        for k, (dtype, shape) in fields.items():
            if k not in data:
                raise DemoFormatError(f"{path}: field {k!r} missing")
            want = tuple(dims.get(s, s) if isinstance(s, str) else s for s in shape)
            if str(data[k].dtype) != dtype or data[k].shape != want:
                raise DemoFormatError(f"{path}: field {k!r} is {data[k].dtype}{list(data[k].shape)}, "
                                      f"expected {dtype}{list(want)}")
        if ((data["length"] < 1) | (data["length"] > T)).any():
            raise DemoFormatError(f"{path}: field 'length' has values outside [1, {T}]")
        n = len(data["task_id"])   # = the manifest's count for the shard (the shapes were checked above)
        for k in fields:
            if k not in out:
                out[k] = np.empty((total,) + data[k].shape[1:], data[k].dtype)
            out[k][filled:filled + n] = data[k]
        filled += n
        del data
    out = {k: out[k][:filled] if k in out else np.zeros((0,), fields[k][0]) for k in fields}
    if len(out["task_id"]) != m["num_episodes"]:
        raise DemoFormatError(f"{out_dir / 'manifest.json'}: field 'num_episodes' is {m['num_episodes']}, "
                              f"the shards hold {len(out['task_id'])}")
    return out


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def concat_demos(parts: list[dict]) -> dict:
    """Episodes of several demo sets (e.g. teacher demos + DAgger rounds) as one set of FIELDS.

    Sets recorded with different episode limits are padded to the longest (zeros after each
    episode's `length`, as inside one set); frames must agree (DemoFormatError otherwise).
    """
    if not parts:
        raise DemoFormatError("no demo sets to concatenate")
    T = max(p["action"].shape[1] for p in parts)
    frames = {tuple(p[X.RGB].shape[2:]) for p in parts}
    if len(frames) > 1:
        raise DemoFormatError(f"demo sets have different frame shapes {sorted(frames)}; record them with one experiment")
    out = {}
    # An optional field survives only if every set has it (a teacher set + DAgger rounds recorded before it).
    for k in list(FIELDS) + [k for k in OPTIONAL_FIELDS if all(k in p for p in parts)]:
        arrays = []
        for p in parts:
            a = np.asarray(p[k])
            if k in _PER_STEP and a.shape[1] < T:
                a = np.pad(a, [(0, 0), (0, T - a.shape[1])] + [(0, 0)] * (a.ndim - 2))
            arrays.append(a)
        out[k] = np.concatenate(arrays)
    return out
