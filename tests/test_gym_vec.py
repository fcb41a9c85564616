"""The gymnasium face of the world: ids, VectorEnv auto-reset against gymnasium's own
SyncVectorEnv, check_env, determinism, and the README's PyTorch loop (numpy stand-in for torch)."""
import pathlib
import re
import sys
import types

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import jaxcraft
from jaxcraft.gym.ids import ENV_IDS, register_gymnasium_envs
from jaxcraft.gym.single import JaxCraftGymEnv
from jaxcraft.gym.vec import JaxCraftVectorEnv

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORLD = dict(frame_size=8, world_size=16, world_height=16, max_steps=3)   # every episode truncates at step 3
N = 3


@pytest.fixture(scope="module")
def world_vec():
    return jaxcraft.make_vec("JaxCraft-World-v0", num_envs=N, **WORLD)


def test_ids_are_registered_for_gymnasium_make_vec():
    ids = register_gymnasium_envs()
    assert set(ids) == {"JaxCraft-World-v0", "JaxCraft-CrossView-v0", "JaxCraft-Approach-v0", "JaxCraft-Break-v0",
                        "JaxCraft-Interact-v0", "JaxCraft-Hunt-v0"} == set(ENV_IDS)
    envs = gym.make_vec("JaxCraft-Hunt-v0", num_envs=2, frame_size=16)     # not compiled until reset
    assert isinstance(envs.unwrapped, JaxCraftVectorEnv)
    assert envs.single_observation_space["rgb"].shape == (16, 16, 3)
    assert envs.action_space.shape == (2, 11) and envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert isinstance(gym.make("JaxCraft-World-v0", **WORLD).unwrapped, JaxCraftGymEnv)


def test_bad_options_name_the_problem():
    with pytest.raises(TypeError, match="unknown option.*'famlies'"):
        jaxcraft.make_vec("JaxCraft-Approach-v0", 2, famlies=("break",))
    with pytest.raises(ValueError, match="task.frame_size"):
        jaxcraft.make_vec("JaxCraft-Approach-v0", 2, frame_size=4)
    with pytest.raises(gym.error.Error):
        jaxcraft.make_vec("JaxCraft-Nope-v0", 2)


def test_render_returns_the_last_observed_frame():
    env = JaxCraftGymEnv("JaxCraft-World-v0", render_mode="rgb_array", **WORLD)
    assert env.render() is None                          # nothing observed yet
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(env.render(), obs["rgb"])
    obs, *_ = env.step(np.zeros(env.action_space.shape, np.int64))
    frame = env.render()
    assert frame.shape == (8, 8, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, obs["rgb"])
    quiet = JaxCraftGymEnv("JaxCraft-World-v0", **WORLD)
    quiet.reset(seed=0)
    assert quiet.render() is None                        # no render_mode: gymnasium's convention


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_autoreset_matches_gymnasium_sync_vector_env(world_vec, mode):
    """Oracle: gymnasium's SyncVectorEnv over single envs implements each auto-reset mode itself."""
    ours = world_vec if mode is AutoresetMode.NEXT_STEP else jaxcraft.make_vec(
        "JaxCraft-World-v0", num_envs=N, autoreset_mode=mode, **WORLD)   # same compiled program
    ref = gym.vector.SyncVectorEnv([lambda: JaxCraftGymEnv("JaxCraft-World-v0", **WORLD) for _ in range(N)],
                                   autoreset_mode=mode)
    obs, _ = ours.reset(seed=1)
    ref.reset(seed=1)
    assert ours.observation_space.contains(obs)
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(9):
        a = rng.integers(0, ours.single_action_space.nvec, size=(N, 11))
        obs, r, term, trunc, info = ours.step(a)
        _, r_ref, term_ref, trunc_ref, info_ref = ref.step(a)
        assert ours.observation_space.contains(obs)
        np.testing.assert_array_equal(term, term_ref)
        np.testing.assert_array_equal(trunc, trunc_ref)
        done = term | trunc
        np.testing.assert_array_equal(info["_episode"], done)
        np.testing.assert_array_equal(info["episode"]["l"], np.where(done, 3, 0))
        if mode is AutoresetMode.NEXT_STEP and t % 4 == 3:       # the call after an end only resets
            assert not r.any() and not r_ref.any()
        if mode is AutoresetMode.SAME_STEP and done.any():
            np.testing.assert_array_equal(info["_final_obs"], info_ref["_final_obs"])
            assert not np.array_equal(info["final_obs"]["rgb"], obs["rgb"])   # last frame of the old world
        ends += int(done.all())
    # NEXT_STEP: ends at calls 3 and 7 (call 4 is the reset); SAME_STEP: at 3, 6, 9.
    assert ends == (2 if mode is AutoresetMode.NEXT_STEP else 3)


def test_reset_seed_makes_the_run_deterministic(world_vec):
    actions = np.random.default_rng(3).integers(0, 2, size=(5, N, 11))
    runs = []
    for _ in range(2):
        obs, _ = world_vec.reset(seed=7)
        frames = [obs["rgb"]] + [world_vec.step(a)[0]["rgb"] for a in actions]
        runs.append(np.stack(frames))
    np.testing.assert_array_equal(runs[0], runs[1])
    other = world_vec.reset(seed=8)[0]["rgb"]
    assert not np.array_equal(other, runs[0][0])
    assert not np.array_equal(runs[0][0][0], runs[0][0][1])     # envs of one batch are different worlds


def test_single_env_passes_gymnasium_check_env():
    env = JaxCraftGymEnv("JaxCraft-World-v0", **WORLD)
    check_env(env, skip_render_check=True)


# -- the README's PyTorch loop, run with a numpy stand-in for the few torch calls it makes ------------------
class _Tensor(np.ndarray):
    backward_calls = 0

    def numpy(self):
        return np.asarray(self)

    def detach(self):
        return self

    def item(self):
        return float(np.asarray(self))

    def backward(self):
        assert np.isfinite(np.asarray(self)).all()
        _Tensor.backward_calls += 1


def _t(x, dtype=None):
    return np.asarray(x, dtype=dtype).view(_Tensor)


def _fake_torch() -> types.ModuleType:
    torch = types.ModuleType("torch")
    rng = np.random.default_rng(0)

    class Linear:
        def __init__(self, n_in, n_out):
            self.w = rng.normal(0, n_in ** -0.5, (n_in, n_out)).astype(np.float32)

        def __call__(self, x):
            return _t(np.asarray(x) @ self.w)

    class Sequential:
        def __init__(self, *layers):
            self.layers = layers

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [layer.w for layer in self.layers if hasattr(layer, "w")]

    class Categorical:
        def __init__(self, logits):
            z = np.asarray(logits) - np.asarray(logits).max(-1, keepdims=True)
            self.logp = z - np.log(np.exp(z).sum(-1, keepdims=True))

        def sample(self):
            p = np.exp(self.logp)
            return _t([rng.choice(p.shape[-1], p=row / row.sum()) for row in p])

        def log_prob(self, a):
            return _t(np.take_along_axis(self.logp, np.asarray(a)[:, None], -1)[:, 0])

    class Adam:
        def __init__(self, params, lr):
            assert params and lr > 0

        def zero_grad(self):
            pass

        def step(self):
            pass

    torch.float32 = np.float32
    torch.as_tensor = _t
    torch.stack = lambda xs, dim=0: _t(np.stack(xs, axis=dim))
    torch.split = lambda x, sizes, dim=0: [_t(p) for p in np.split(x, np.cumsum(sizes)[:-1], axis=dim)]
    torch.nn = types.SimpleNamespace(Linear=Linear, Sequential=Sequential, Tanh=lambda: (lambda x: _t(np.tanh(x))))
    torch.optim = types.SimpleNamespace(Adam=Adam)
    torch.distributions = types.SimpleNamespace(Categorical=Categorical)
    return torch


def test_readme_pytorch_loop_runs_with_a_numpy_stand_in(monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "jaxcraft.make_vec" in b)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch())
    _Tensor.backward_calls = 0
    exec(compile(snippet, "README.md:make_vec", "exec"), {"__name__": "readme"})
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("update")]
    assert len(lines) == 3 and _Tensor.backward_calls == 3, lines


@pytest.mark.slow
def test_the_gymnasium_hook_module_still_makes_the_ids():
    import subprocess

    code = ("import gymnasium as gym, jaxcraft.gym.vec\n"
            "e = gym.make_vec('jaxcraft.gym.hook:JaxCraft-Break-v0', 2, frame_size=16)\n"
            "print(type(e.unwrapped).__name__, e.single_observation_space['goal_mask'].shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["JaxCraftVectorEnv", "(16,", "16)"]
