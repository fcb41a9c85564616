"""BridgeVectorEnv against gymnasium's AsyncVectorEnv contract (issue 18).

gymnasium's sdist does not ship its tests/vector files (checked for 1.3.0: only
tests/test_core.py and tests/testing_env.py), so these tests mirror each behaviour of
the contract instead. Every test runs against both `AsyncVectorEnv` and `BridgeVectorEnv`
(`impl`), and the oracle is gymnasium's in-process `SyncVectorEnv` with the same
settings: trajectories, infos, spaces and errors must be the same.
"""
import multiprocessing

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import AlreadyPendingCallError, ClosedEnvironmentError, NoAsyncCallError
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import NormalizeObservation, RecordEpisodeStatistics

import _gym_conformance_envs as envs
from bridge import BridgeVectorEnv

IMPLS = ["AsyncVectorEnv", "BridgeVectorEnv"]
N = 2


def make(impl, fns, general=False, **kw):
    if impl == "AsyncVectorEnv":
        return AsyncVectorEnv(fns, shared_memory=not general, **kw)
    return BridgeVectorEnv(fns, **kw)


def rollout(env, steps, seed=0, actions=None):
    rng = np.random.default_rng(seed)
    out = [env.reset(seed=seed)]
    for _ in range(steps):
        a = env.action_space.sample() if actions is None else actions(rng)
        out.append(env.step(a))
    return out


def assert_same(got, want):
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want)):
        assert data_equivalence(g, w, exact=True), (t, g, w)


@pytest.fixture
def closing():
    opened = []
    yield opened.append
    for e in opened:
        e.close()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_autoreset_modes_match_sync_vector_env(impl, mode, closing):
    fns = [lambda: envs.InfoEnv(length=3), lambda: envs.InfoEnv(length=4)]
    env, ref = make(impl, fns, autoreset_mode=mode), SyncVectorEnv(fns, autoreset_mode=mode)
    closing(env), closing(ref)
    assert env.metadata["autoreset_mode"] == mode
    acts = lambda rng: rng.integers(0, 2, N)  # noqa: E731
    if mode != AutoresetMode.DISABLED:
        assert_same(rollout(env, 12, 3, acts), rollout(ref, 12, 3, acts))
        return
    for e in (env, ref):  # DISABLED: the caller resets finished envs with reset_mask
        e.reset(seed=5)
    for t in range(10):
        got, want = env.step(np.array([1, t % 2])), ref.step(np.array([1, t % 2]))
        assert data_equivalence(got, want, exact=True), (t, got, want)
        done = want[2] | want[3]
        if done.any():
            got = env.reset(options={"reset_mask": done})
            want = ref.reset(options={"reset_mask": done})
            assert data_equivalence(got, want, exact=True), (t, got, want)


@pytest.mark.parametrize("impl", IMPLS)
def test_gymnasium_envs_bit_identical_and_default_next_step(impl, closing):
    for env_id in ("CartPole-v1", "Pendulum-v1"):
        fns = [lambda i=env_id: gym.make(i)] * N
        env, ref = make(impl, fns), SyncVectorEnv(fns)
        closing(env), closing(ref)
        assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        assert env.single_observation_space == ref.single_observation_space
        assert env.action_space == ref.action_space and env.observation_space == ref.observation_space
        env.action_space.seed(1), ref.action_space.seed(1)
        assert_same(rollout(env, 60, 7), rollout(ref, 60, 7))


@pytest.mark.parametrize("impl", IMPLS)
def test_seeding_semantics(impl, closing):
    fns = [envs.InfoEnv] * 3
    env, ref = make(impl, fns), SyncVectorEnv(fns)
    closing(env), closing(ref)
    for seed in (11, [4, None, 9]):
        got, want = env.reset(seed=seed), ref.reset(seed=seed)
        assert data_equivalence(got, want, exact=True)
    assert env.np_random_seed[0] == 4 and env.np_random_seed[2] == 9
    env.reset(seed=1), ref.reset(seed=1)
    a, b = env.reset()[0], env.reset()[0]  # unseeded: continue each env's RNG
    assert not np.array_equal(a, b)
    assert data_equivalence(a, (ref.reset()[0]), exact=True)
    assert env.np_random_seed == ref.np_random_seed == (1, 2, 3)
    with pytest.raises(AssertionError):
        env.reset(seed=[1, 2])


@pytest.mark.parametrize("impl", IMPLS)
def test_options_and_reset_mask(impl, closing):
    fns = [envs.InfoEnv] * 3
    env, ref = make(impl, fns), SyncVectorEnv(fns)
    closing(env), closing(ref)
    got, want = env.reset(seed=0, options={"level": 3}), ref.reset(seed=0, options={"level": 3})
    assert data_equivalence(got, want, exact=True) and got[1]["options"]["level"].tolist() == [3] * 3
    for e in (env, ref):
        e.step(np.ones(3, int))
    mask = np.array([True, False, True])
    got = env.reset(options={"reset_mask": mask, "x": 1})
    want = ref.reset(options={"reset_mask": mask, "x": 1})
    assert data_equivalence(got, want, exact=True)
    assert got[0][1, 0] == 1 and got[0][0, 0] == 0  # env 1 kept its observation
    with pytest.raises(AssertionError):
        env.reset(options={"reset_mask": np.array([1, 0, 1])})


@pytest.mark.parametrize("impl", IMPLS)
def test_call_get_attr_set_attr_render(impl, closing):
    fns = [lambda: envs.InfoEnv(render_mode="rgb_array")] * N
    env = make(impl, fns)
    closing(env)
    env.reset(seed=0)
    assert env.render_mode == "rgb_array"
    assert env.call("double", 3, plus=1) == (7, 7)
    assert env.get_attr("level") == (0, 0)
    env.set_attr("level", [5, 6])
    assert env.get_attr("level") == (5, 6)
    env.set_attr("level", 9)
    assert env.get_attr("level") == (9, 9)
    with pytest.raises(ValueError, match="Values must be a list or tuple"):
        env.set_attr("level", [1, 2, 3])
    env.step(np.zeros(N, int))
    frames = env.render()
    assert len(frames) == N and all(f.shape == (2, 2, 3) and f[0, 0, 0] == 1 for f in frames)
    with pytest.raises(ValueError, match="use `reset` directly"):
        env.call("reset")


@pytest.mark.parametrize("impl", IMPLS)
def test_async_methods_and_their_errors(impl, closing):
    env = make(impl, [envs.InfoEnv] * N)
    closing(env)
    env.reset_async(seed=0)
    with pytest.raises(AlreadyPendingCallError):
        env.step_async(np.zeros(N, int))
    obs, _ = env.reset_wait()
    with pytest.raises(NoAsyncCallError):
        env.step_wait()
    env.step_async(np.zeros(N, int))
    obs, rew, term, trunc, info = env.step_wait()
    assert obs[:, 0].tolist() == [1, 1] and rew.tolist() == [0.5, 0.5]
    env.call_async("double", 2)
    assert env.call_wait() == (4, 4)


@pytest.mark.parametrize("impl", IMPLS)
def test_closed_env_raises_closed_environment_error(impl):
    env = make(impl, [envs.InfoEnv] * N)
    env.reset()
    env.close()
    for fn in (lambda: env.reset(), lambda: env.step(np.zeros(N, int)),
               lambda: env.get_attr("level")):
        with pytest.raises(ClosedEnvironmentError):
            fn()


@pytest.mark.parametrize("impl", IMPLS)
def test_sub_env_exception_is_raised_with_its_type(impl, closing):
    env = make(impl, [envs.InfoEnv, envs.FailingEnv])
    closing(env)
    env.reset(seed=0)
    env.step(np.zeros(N, int))
    with pytest.raises(ValueError, match="simulated failure at step 2"):
        env.step(np.zeros(N, int))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", ["tuple", "nested_dict", "text", "sequence", "graph", "oneof",
                                  "custom"])
def test_general_observation_spaces(impl, kind, closing):
    fns = [lambda k=kind: envs.SpaceEnv(k)] * N
    env, ref = make(impl, fns, general=True), SyncVectorEnv(fns)
    closing(env), closing(ref)
    got, want = rollout(env, 5, 2, lambda rng: rng.integers(0, 2, N)), \
        rollout(ref, 5, 2, lambda rng: rng.integers(0, 2, N))
    if kind == "text":
        # Text.sample draws from a frozenset of characters, whose order depends on the
        # process's string-hash seed: spawned workers (ours) differ from forked ones.
        # Same structure and validity, not the same characters.
        for g, w in zip(got, want):
            assert len(g) == len(w) and all(len(a) == len(b) for a, b in zip(g[0], w[0]))
            assert all(env.single_observation_space.contains(x) for x in g[0])
            assert data_equivalence(g[1:], w[1:], exact=True)
    else:
        assert_same(got, want)
    if kind not in ("sequence", "graph", "custom"):  # batched as tuples: no vector contains
        assert got[-1][0] in env.observation_space


@pytest.mark.parametrize("impl", IMPLS)
def test_tuple_action_space(impl, closing):
    fns = [lambda: envs.SpaceEnv("tuple", tuple_action=True)] * N
    env, ref = make(impl, fns, general=True), SyncVectorEnv(fns)
    closing(env), closing(ref)
    env.action_space.seed(0), ref.action_space.seed(0)
    assert_same(rollout(env, 5, 1), rollout(ref, 5, 1))


@pytest.mark.parametrize("impl", IMPLS)
def test_declared_observation_dtype_is_kept(impl, closing):
    env = make(impl, [envs.DiscreteObsEnv] * N)
    closing(env)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.int32 and obs in env.observation_space
    obs = env.step(np.ones(N, int))[0]
    assert obs.dtype == np.int32 and obs in env.observation_space


@pytest.mark.parametrize("impl", IMPLS)
def test_space_checks_across_sub_envs(impl):
    with pytest.raises(RuntimeError, match="observation spaces are not equivalent"):
        make(impl, [lambda: gym.make("CartPole-v1"), lambda: gym.make("FrozenLake-v1")]).close()
    with pytest.raises(RuntimeError, match="action space different"):
        make(impl, [envs.InfoEnv, envs.ThreeActionEnv]).close()


@pytest.mark.parametrize("impl", IMPLS)
def test_observation_mode_different(impl, closing):
    fns = [lambda: envs.InfoEnv(), lambda: envs.InfoEnv()]
    env = make(impl, fns, observation_mode="different")
    closing(env)
    obs, _ = env.reset(seed=0)
    assert obs in env.observation_space
    with pytest.raises(ValueError, match="Invalid `observation_mode`"):
        make(impl, fns, observation_mode="odd")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_wrappers_on_top(impl, mode, closing):
    fns = [lambda: gym.make("CartPole-v1")] * N
    # NormalizeObservation (any VectorObservationWrapper) accepts NEXT_STEP/DISABLED only.
    wrap = ((lambda e: NormalizeObservation(RecordEpisodeStatistics(e)))
            if mode == AutoresetMode.NEXT_STEP else RecordEpisodeStatistics)
    env = wrap(make(impl, fns, autoreset_mode=mode))
    ref = wrap(SyncVectorEnv(fns, autoreset_mode=mode))
    closing(env), closing(ref)
    acts = lambda rng: rng.integers(0, 2, N)  # noqa: E731
    got, want = rollout(env, 80, 4, acts), rollout(ref, 80, 4, acts)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g[0], w[0], rtol=1e-5, atol=1e-6)
        assert g[-1].keys() == w[-1].keys()
    def stats(run):  # episode returns and lengths (not the wall-clock "t")
        return [(s[-1]["episode"]["r"], s[-1]["episode"]["l"], s[-1]["_episode"])
                for s in run[1:] if "episode" in s[-1]]
    assert stats(want) and data_equivalence(stats(got), stats(want), exact=True)


@pytest.mark.parametrize("impl", IMPLS)
def test_timeouts_are_multiprocessing_timeouts(impl, closing):
    env = make(impl, [envs.InfoEnv] * N)
    closing(env)
    env.reset()
    # (no slow env here: a zero timeout on an already answered call either returns or
    # raises multiprocessing.TimeoutError, never another type)
    env.step_async(np.zeros(N, int))
    try:
        obs, rewards, terminated, truncated, infos = env.step_wait(timeout=10)
        assert rewards.shape == terminated.shape == truncated.shape == (N,)
    except multiprocessing.TimeoutError:
        pass


def test_one_env_per_worker_isolates_module_state(closing):
    """Default num_workers = num_envs: like AsyncVectorEnv, each env in its own process, so
    module-level state is not shared; num_workers=1 hosts both in one process (faster) and
    they see each other's steps."""
    fns = [envs.SharedStateEnv] * N
    isolated, shared, ref = (BridgeVectorEnv(fns), BridgeVectorEnv(fns, num_workers=1),
                             AsyncVectorEnv(fns))
    for e in (isolated, shared, ref):
        closing(e)
        e.reset(seed=0)
    for _ in range(3):
        a, b, r = (e.step(np.zeros(N, int))[0] for e in (isolated, shared, ref))
    np.testing.assert_array_equal(a, r)
    assert a[:, 1].tolist() == [3, 3] and b[:, 1].tolist() == [5, 6]
