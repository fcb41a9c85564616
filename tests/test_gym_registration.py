"""`import jaxcraft` registers the gymnasium ids cheaply (no JAX), observations carry the dtypes
their spaces declare, and step before reset raises gymnasium's ResetNeeded (no compilation here)."""
import importlib
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import jaxcraft
from jaxcraft.gym.ids import ENV_IDS, as_space_dtypes


def test_import_jaxcraft_registers_every_id():
    assert jaxcraft.GYM_IDS == tuple(ENV_IDS)  # the JAX-free list keeps up with ids.py
    for env_id in jaxcraft.GYM_IDS:
        gym.registry.pop(env_id, None)
    importlib.reload(jaxcraft)
    for env_id in jaxcraft.GYM_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point == "jaxcraft.gym.single:JaxCraftGymEnv"
        assert spec.vector_entry_point == "jaxcraft.gym.vec:JaxCraftVectorEnv"
        assert spec.kwargs == {"env_id": env_id}
    importlib.reload(jaxcraft)  # idempotent: no "Overriding environment" warning


@pytest.mark.slow   # a fresh interpreter: the only way to see what `import jaxcraft` imports
def test_import_jaxcraft_stays_cheap_and_make_vec_finds_the_id():
    code = ("import sys, gymnasium as gym, jaxcraft\n"
            "assert 'jax' not in sys.modules, 'import jaxcraft imported jax'\n"
            "e = gym.make_vec('JaxCraft-Approach-v0', 2, frame_size=16)\n"  # not compiled until reset
            "print(type(e.unwrapped).__name__, e.single_observation_space['family'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["JaxCraftVectorEnv", "Discrete(4)"]


def test_observations_take_the_dtypes_their_space_declares():
    space = gym.spaces.Dict({"family": gym.spaces.Discrete(4),
                             "rgb": gym.spaces.Box(0, 255, (2, 2, 3), np.uint8)})
    rgb = np.zeros((2, 2, 3), np.uint8)
    obs = as_space_dtypes({"family": np.int32(2), "rgb": rgb}, space)
    assert type(obs["family"]) is np.int64 and obs["family"] == 2 and obs in space
    assert obs["rgb"] is rgb  # no copy when the dtype already agrees
    batched = gym.vector.utils.batch_space(space, 3)
    obs = as_space_dtypes({"family": np.array([0, 1, 3], np.int32), "rgb": np.stack([rgb] * 3)}, batched)
    assert obs["family"].dtype == np.int64 and obs in batched


@pytest.mark.parametrize("make", ["single", "vec"])
def test_step_before_reset_raises_reset_needed(make):
    if make == "single":
        from jaxcraft.gym.single import JaxCraftGymEnv
        env = JaxCraftGymEnv("JaxCraft-Approach-v0", frame_size=16)
    else:
        from jaxcraft.gym.vec import JaxCraftVectorEnv
        env = JaxCraftVectorEnv("JaxCraft-Approach-v0", 2, frame_size=16)
    with pytest.raises(ResetNeeded) as err:
        env.step(env.action_space.sample())
    assert isinstance(err.value, RuntimeError)  # what it raised before
