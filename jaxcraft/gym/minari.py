"""Teacher demonstrations as Minari datasets (the offline-RL standard): export and import.

    export_minari("runs/demos", "jaxcraft/quickstart-servo-v0")   # a `jaxcraft demos` directory → Minari
    demos = load_minari_demos("jaxcraft/quickstart-servo-v0")      # → the dict `load_demos` returns
    demos = load_demo_source("minari:jaxcraft/quickstart-servo-v0")  # or a directory: what `--demos` takes

Datasets live where Minari keeps them (`MINARI_DATASETS_PATH`, default ~/.minari/datasets).
One episode of length L (`jaxcraft.tasks.demos` fields) becomes:

    observations  dict (the task env's observation space): rgb uint8[L+1, H, W, 3], goal_rgb
                  uint8[L+1, H, W, 3], goal_mask uint8[L+1, H, W], family int64[L+1]. The goal fields
                  repeat the episode's. The demos do not keep the frame after the last action, so
                  observation L repeats observation L-1 (import drops it).
    actions       int64[L, 11] (MultiDiscrete, actions.py layout)
    rewards       float64[L]: the task's success_reward at the success step, else 0 (the paper's
                  binary reward; shaping terms are not recorded)
    terminations  [L] True at the last step iff the task succeeded; truncations: True there iff not
    infos         target_visible bool[L+1], target_centroid float32[L+1, 2] (labels of observation t),
                  task_id int32[L+1]

Frames are stored raw (no JPEG), so export → import gives back exactly the arrays of the demo
directory (tested). The dataset metadata key `jaxcraft_demos` holds the demo manifest minus its
shard list; when the manifest has the TaskConfig, the dataset's env spec is the matching gymnasium
id (`jaxcraft.gym.ids`) with that config, so `dataset.recover_environment()` rebuilds the task env.
"""
from __future__ import annotations

import inspect
import pathlib

import numpy as np

from bridge import crossview as X
from jaxcraft.envs.spaces import MultiDiscrete
from jaxcraft.gym.ids import ENV_IDS, register_gymnasium_envs
from jaxcraft.tasks.demos import DemoFormatError, FIELDS, load_demos, load_manifest
from jaxcraft.world import actions as A

MINARI_PREFIX = "minari:"
METADATA_KEY = "jaxcraft_demos"
_OBS_KEYS = X.POLICY_KEYS   # the demos keep the policy's observation (no value-only fields)
_CHUNK = 64   # episodes per write: bounds the memory of the per-step goal copies


def _minari():
    try:
        import minari   # optional extra jaxcraft[minari]: only for Minari datasets
    except ImportError:
        raise ImportError("Minari datasets need `pip install 'jaxcraft[minari]'` (minari with h5py)") from None
    return minari


def dataset_exists(dataset_id: str) -> bool:
    """Whether a local Minari dataset of this id exists."""
    return dataset_id in _minari().list_local_datasets()


def _spaces_and_spec(manifest: dict):
    """(observation_space, action_space, env_spec or None) of the demos' task env."""
    import gymnasium as gym

    schema = X.ObservationSchema(tuple(manifest["frame"]))
    obs_space = gym.spaces.Dict({f.name: gym.spaces.Discrete(f.high + 1) if f.category else
                                 gym.spaces.Box(f.low, f.high, f.shape(schema.frame), np.dtype(f.dtype))
                                 for f in schema.fields})
    act_space = gym.spaces.MultiDiscrete(np.asarray(MultiDiscrete(A.NVEC).nvec, np.int64))
    task = manifest.get("task_config")
    if not task:
        return obs_space, act_space, None
    register_gymnasium_envs()
    families = tuple(task["families"])
    env_id = next((i for i, f in ENV_IDS.items() if f == families), "JaxCraft-CrossView-v0")
    kwargs = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in task.items() if k != "families"}
    if ENV_IDS[env_id] != families:
        kwargs["families"] = list(families)
    spec = gym.spec(env_id)
    spec = gym.envs.registration.EnvSpec(id=spec.id, entry_point=spec.entry_point,
                                         vector_entry_point=spec.vector_entry_point,
                                         kwargs={**spec.kwargs, **kwargs})
    return obs_space, act_space, spec


def _buffers(demos: dict, lo: int, hi: int, success_reward: float) -> list:
    from minari.data_collector import EpisodeBuffer   # optional extra jaxcraft[minari] (callers checked _minari())

    out = []
    for i in range(lo, hi):
        n = int(demos["length"][i])
        last = np.minimum(np.arange(n + 1), n - 1)             # observation L repeats L-1
        success = bool(demos["success"][i])
        # per-step fields at each observation, the goal's (per episode) repeated; the family as int64
        # (gymnasium's Discrete dtype)
        obs = {k: demos[k][i, last] if k not in X.PER_EPISODE_KEYS else
               np.repeat(np.asarray(demos[k][i])[None], n + 1, 0).astype(np.int64 if k == X.FAMILY else demos[k].dtype)
               for k in _OBS_KEYS}
        end = np.arange(n) == n - 1
        out.append(EpisodeBuffer(
            id=i, observations=obs, actions=demos["action"][i, :n].astype(np.int64),
            rewards=list(np.where(end & success, success_reward, 0.0)),
            terminations=list(end & success), truncations=list(end & (not success)),
            infos={"target_visible": demos["target_visible"][i, last],
                   "target_centroid": demos["target_centroid"][i, last],
                   "task_id": np.full(n + 1, demos["task_id"][i], np.int32)}))
    return out


def export_minari(demo_dir, dataset_id: str, author: str = "jaxcraft", progress=None):
    """Write the demo directory `demo_dir` as the local Minari dataset `dataset_id`; returns it.

    progress: optional callable(episodes_written) after each chunk. Raises FileExistsError if the
    dataset exists (nothing is overwritten) and DemoFormatError on a bad demo directory.
    """
    minari = _minari()
    if dataset_exists(dataset_id):
        raise FileExistsError(f"Minari dataset {dataset_id!r} exists (minari.delete_dataset to replace it)")
    manifest = load_manifest(demo_dir)
    demos = load_demos(demo_dir)
    obs_space, act_space, spec = _spaces_and_spec(manifest)
    reward = float((manifest.get("task_config") or {}).get("success_reward", 1.0))
    n = len(demos["length"])
    raw = {"jpeg_encoding": False} if "jpeg_encoding" in inspect.signature(minari.create_dataset_from_buffers).parameters else {}
    dataset = minari.create_dataset_from_buffers(
        dataset_id, _buffers(demos, 0, min(n, _CHUNK), reward), env=spec, eval_env=spec, observation_space=obs_space,
        action_space=act_space, algorithm_name=f"jaxcraft-{manifest.get('teacher', 'expert')}-teacher",
        author=author, description=f"jaxcraft cross-view task demonstrations ({manifest.get('teacher', 'expert')} "
                                   f"teacher, noise {manifest.get('noise', 0.0)}); see jaxcraft.gym.minari",
        data_format="hdf5", **raw)
    if progress:
        progress(min(n, _CHUNK))
    for lo in range(_CHUNK, n, _CHUNK):
        dataset.update_dataset_from_buffer(_buffers(demos, lo, min(n, lo + _CHUNK), reward))
        if progress:
            progress(min(n, lo + _CHUNK))
    dataset.storage.update_metadata({METADATA_KEY: {k: v for k, v in manifest.items() if k != "shards"}})
    return dataset


def load_minari_demos(dataset_id: str) -> dict:
    """A local Minari dataset as the {field: array} dict of `jaxcraft.tasks.demos.load_demos`
    (episodes padded to the recording's max_steps, or to the longest episode)."""
    minari = _minari()
    if not dataset_exists(dataset_id):
        raise DemoFormatError(f"minari:{dataset_id}: no such local Minari dataset "
                              f"(known: {', '.join(sorted(minari.list_local_datasets())) or 'none'})")
    dataset = minari.load_dataset(dataset_id)
    meta = dataset.storage.metadata.get(METADATA_KEY) or {}
    episodes = list(dataset.iterate_episodes())
    if not episodes:
        raise DemoFormatError(f"minari:{dataset_id}: the dataset has no episodes")
    first = episodes[0]
    if not isinstance(first.observations, dict) or set(_OBS_KEYS) - set(first.observations):
        raise DemoFormatError(f"minari:{dataset_id}: observations must be a dict with {_OBS_KEYS} "
                              "(a jaxcraft cross-view task dataset)")
    if np.asarray(first.actions).shape[1:] != (FIELDS["action"][1][2],):
        raise DemoFormatError(f"minari:{dataset_id}: actions are {np.asarray(first.actions).shape[1:]}, expected (11,)")
    T = int(meta.get("max_steps") or max(len(e) for e in episodes))
    H, W = first.observations[X.RGB].shape[1:3]
    dims = dict(N=len(episodes), T=T, H=H, W=W)
    out = {k: np.zeros(tuple(dims.get(s, s) if isinstance(s, str) else s for s in shape), dtype)
           for k, (dtype, shape) in FIELDS.items()}
    for i, ep in enumerate(episodes):
        n = len(ep)
        if not 1 <= n <= T:
            raise DemoFormatError(f"minari:{dataset_id}: episode {ep.id} has {n} steps, outside [1, {T}]")
        o, info = ep.observations, ep.infos or {}
        for k in _OBS_KEYS:   # per-step fields for each step, the goal's once per episode
            if k in X.PER_EPISODE_KEYS:
                out[k][i] = o[k][0]
            else:
                out[k][i, :n] = o[k][:n]
        out["action"][i, :n] = ep.actions
        if "target_visible" in info:
            out["target_visible"][i, :n] = info["target_visible"][:n]
            out["target_centroid"][i, :n] = info["target_centroid"][:n]
        out["length"][i] = n
        out["success"][i] = bool(ep.terminations[-1])
        out["task_id"][i] = info["task_id"][0] if "task_id" in info else -1
    return out


def load_demo_source(source: str) -> dict:
    """`minari:<dataset id>` → `load_minari_demos`; anything else is a demo directory → `load_demos`."""
    if str(source).startswith(MINARI_PREFIX):
        return load_minari_demos(str(source)[len(MINARI_PREFIX):])
    return load_demos(pathlib.Path(source))
