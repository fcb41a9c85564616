"""The Transformer-XL core (`net.core="trxl"`, jaxcraft.nets.trxl).

Oracles: (1) attention never crosses an episode start — inputs before a reset, in the segment
or in the memory, change nothing after it; (2) a sequence cut into segments and carried through
the memory gives the outputs of the whole sequence at once; (3) both net families take the core
through the `carry, logits, value = apply(params, carry, obs, reset)` contract; (4) recurrent
PPO with the core solves bsuite's MemoryChain (the feed-forward net stays at chance there:
tests/train/test_memory_chain.py), and cloning through it learns tests/nets/test_goal_memory.py's cue.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_network, make_trainer
from jaxcraft.config import ConfigError, NetConfig, load_experiment
from jaxcraft.envs.spaces import Box, Discrete
from jaxcraft.nets.trxl import TransformerXLCore
from jaxcraft.train.run.seeds import run_seeds

W, M, N, F = 16, 8, 3, 5


def _core(memory=M):
    core = TransformerXLCore(W, heads=2, layers=2, memory_len=memory)
    x = jnp.zeros((4, N, F))
    params = core.init(jax.random.key(0), core.initial_carry(N), x, jnp.zeros((4, N), bool))
    # Nonzero relative-position biases, so the test also covers them.
    params = jax.tree_util.tree_map_with_path(
        lambda p, v: jax.random.normal(jax.random.key(1), v.shape) if "rel_bias" in jax.tree_util.keystr(p) else v,
        params)
    return core, params


def _segments(core, params, x, reset, L):
    """Apply `core` over x [T, N, F] in segments of L, carrying the memory: (y [T, N, W], carries)."""
    carry, ys, carries = core.initial_carry(x.shape[1]), [], []
    for s in range(0, x.shape[0], L):
        carry, y = core.apply(params, carry, x[s:s + L], reset[s:s + L])
        ys.append(y)
        carries.append(carry)
    return jnp.concatenate(ys), carries


def test_attention_never_crosses_a_reset_in_the_segment_or_the_memory():
    core, params = _core()
    T = 12
    x = jax.random.normal(jax.random.key(2), (T, N, F))
    reset = jnp.zeros((T, N), bool).at[0].set(True)
    reset = reset.at[6, 0].set(True)    # env 0: a reset inside the second segment (steps 4–7)
    reset = reset.at[4, 1].set(True)    # env 1: a reset at the start of the second segment
    reset = reset.at[9, 2].set(True)    # env 2: a reset in the third segment; steps before it sit in the memory
    # the later episode of each env starts at
    start = np.array([6, 4, 9])
    for L in (4, 12):                   # in segments (with memory) and at once
        y, _ = _segments(core, params, x, reset, L)
        for n in range(N):
            x2 = x.at[:start[n], n].add(jax.random.normal(jax.random.key(3 + n), (start[n], F)) * 5.0)
            y2, _ = _segments(core, params, x2, reset, L)
            np.testing.assert_allclose(y2[start[n]:, n], y[start[n]:, n], atol=1e-6, rtol=0)
            assert not np.allclose(y2[:start[n], n], y[:start[n], n])   # the perturbation did reach the earlier steps
            others = [m for m in range(N) if m != n]
            np.testing.assert_allclose(y2[:, others], y[:, others], atol=1e-6, rtol=0)   # envs never mix


def test_memory_slots_of_an_ended_episode_are_invalid():
    core, params = _core()
    reset = jnp.zeros((4, N), bool).at[0].set(True).at[2, 0].set(True)
    carry, _ = core.apply(params, core.initial_carry(N), jnp.ones((4, N, F)), reset)
    valid = np.asarray(carry["valid"])
    assert carry["memory"].shape == (N, 2, M, W)
    np.testing.assert_array_equal(valid[0], [False] * 6 + [True] * 2)    # only steps 2, 3 are of the running episode
    np.testing.assert_array_equal(valid[1], [False] * 4 + [True] * 4)


@pytest.mark.parametrize("with_resets", [False, True])
def test_segments_with_memory_equal_the_whole_sequence_at_once(with_resets):
    core, params = _core()
    T, L = 3 * 6, 6                     # 3 segments of 6 > memory 8: the window is the same either way
    x = jax.random.normal(jax.random.key(4), (T, N, F))
    reset = jnp.zeros((T, N), bool).at[0].set(True)
    if with_resets:
        reset = reset.at[7, 0].set(True).at[13, 1].set(True)
    y_seg, carries = _segments(core, params, x, reset, L)
    carry_all, y_all = core.apply(params, core.initial_carry(N), x, reset)
    np.testing.assert_allclose(y_seg, y_all, atol=2e-5, rtol=1e-5)
    np.testing.assert_array_equal(carries[-1]["valid"], carry_all["valid"])
    np.testing.assert_allclose(carries[-1]["memory"], carry_all["memory"], atol=2e-5, rtol=1e-5)
    # Acting one step at a time (the rollout) computes what the update recomputes on a chunk.
    y_step, _ = _segments(core, params, x, reset, 1)
    np.testing.assert_allclose(y_step, y_all, atol=2e-5, rtol=1e-5)


def test_memory_is_a_stop_gradient():
    core, params = _core()
    carry = core.initial_carry(N)
    x = jax.random.normal(jax.random.key(5), (4, N, F))
    reset = jnp.zeros((4, N), bool)
    g = jax.grad(lambda x: core.apply(params, carry, x, reset)[0]["memory"].sum())(x)
    assert not np.asarray(g).any()


def _spaces():
    return Box(-1.0, 1.0, (F,), jnp.float32), Discrete(3)


@pytest.mark.parametrize("kind", ["mlp", "goal_cnn"])
def test_both_net_families_carry_the_trxl_core_through_the_ppo_contract(kind):
    L = 3
    if kind == "mlp":
        obs_space, act_space = _spaces()
        obs = jax.random.normal(jax.random.key(6), (L, N, F))
        config = NetConfig(kind="mlp", hidden=(16,), core_size=W, core="trxl", core_memory=4, core_layers=1,
                           core_heads=2, separate_critic=False)
    else:
        from jaxcraft.nets.goal import small_net_config
        from jaxcraft.tasks import TaskConfig, make_task_env
        env, env_params = make_task_env(TaskConfig(frame_size=16, families=("approach",), distances=(20,)))
        obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
        obs = {"rgb": jnp.zeros((L, N, 16, 16, 3), jnp.uint8), "goal_rgb": jnp.zeros((L, N, 16, 16, 3), jnp.uint8),
               "goal_mask": jnp.zeros((L, N, 16, 16), jnp.uint8), "family": jnp.zeros((L, N), jnp.int32)}
        config = small_net_config(channels=(4,), hidden=(16,), core_size=W, core="trxl", core_memory=4, core_heads=2)
    net = make_network(config, obs_space, act_space)
    assert net.core_size == W
    carry = net.initial_carry(N)
    assert carry["memory"].shape[0] == N and carry["valid"].shape == (N, 4)
    reset = jnp.zeros((L, N), bool).at[0].set(True)
    params = net.init(jax.random.key(0), net.initial_carry(1), jax.tree.map(lambda o: o[:, :1], obs), reset[:, :1])
    new_carry, logits, value = jax.jit(net.apply)(params, carry, obs, reset)
    assert jax.tree.map(jnp.shape, new_carry) == jax.tree.map(jnp.shape, carry)
    assert logits.shape[:2] == (L, N) and value.shape == (L, N)
    assert bool(new_carry["valid"][:, -L:].all()) and not bool(new_carry["valid"][:, :-L].any())


def test_bad_core_settings_are_rejected_naming_the_field():
    with pytest.raises(ConfigError, match="net.core="):
        NetConfig(core="lstm").validate()
    with pytest.raises(ConfigError, match="net.core_heads="):
        NetConfig(core="trxl", core_size=30, core_heads=4).validate()
    with pytest.raises(ConfigError, match="net.core_memory="):
        NetConfig(core="trxl", core_size=32, core_memory=0).validate()


UPDATES = 40


def _memory_chain(core):
    c = load_experiment("experiments/memory_chain.py")
    return dataclasses.replace(
        c, env=dataclasses.replace(c.env, num_envs=8, rollout_len=64, env_params=("memory_length=4",)),
        net=dataclasses.replace(c.net, hidden=(32,), core_size=16, core=core, core_memory=8, core_layers=1,
                                core_heads=2),
        ppo=dataclasses.replace(c.ppo, lr=3e-3, anneal_lr=False, num_minibatches=2),
        run=dataclasses.replace(c.run, total_env_steps=UPDATES * 8 * 64, updates_per_call=UPDATES,
                                checkpoint_every=UPDATES, progress=False))


@pytest.mark.slow
def test_trxl_policy_learns_the_memory_chain():
    runs = run_seeds(make_trainer(_memory_chain("trxl")), [0])
    final = float(np.nanmean(runs.metrics["episode_return"][0, -10:]))
    assert final >= 0.8, final


@pytest.mark.slow
def test_trxl_goal_cnn_learns_by_cloning_a_cue_it_must_remember():
    """tests/nets/test_goal_memory.py's cue task, cloned through the trxl core (the GRU: >= 0.95; feed-forward: <= 0.7)."""
    from test_goal_memory import H, T, cue_demos

    from jaxcraft.config import GoalNetConfig
    from jaxcraft.envs.spaces import action_distribution
    from jaxcraft.tasks import TaskConfig, make_task_env
    from jaxcraft.train.imitation.pretrain import ImitationConfig, pretrain, sample_windows
    env, env_params = make_task_env(TaskConfig(frame_size=H, families=("approach",), distances=(20,)))
    space = env.action_space(env_params)
    dist = action_distribution(space)
    held_out = sample_windows({k: jnp.asarray(v) for k, v in cue_demos(seed=1).items()}, jax.random.key(9), 128, T)
    net = make_network(NetConfig(kind="goal_cnn", channels=(4,), hidden=(16,), core_size=16, core="trxl", core_memory=8,
                                 core_layers=1, core_heads=2, activation="relu", separate_critic=False,
                                 goal=GoalNetConfig(fusion="conv")), env.observation_space(env_params), space)
    params, _ = pretrain(net, dist, cue_demos(), ImitationConfig(steps=300, batch_episodes=32, window=T, lr=3e-3), log=None)
    _, logits, _ = jax.jit(net.apply)(params, net.initial_carry(128), held_out["obs"], held_out["reset"])
    yaw = np.asarray(dist.mode(logits))[..., -1]
    assert (yaw[1:] == np.asarray(held_out["action"])[1:, :, -1]).mean() >= 0.95   # steps after the cue
