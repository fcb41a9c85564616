"""Behaviour cloning: window sampling vs a Python loop, the loss vs hand-derived numbers,
learning on a memorisable dataset, and pretrained params reaching the PPO trainer."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.build import make_env, make_network
from jaxcraft.envs.spaces import action_distribution
from jaxcraft.tasks import TaskConfig
from jaxcraft.train.imitation.pretrain import ImitationConfig, bc_loss, load_params, pretrain, sample_windows, save_params

E, T, H = 6, 10, 16
CFG = ExperimentConfig(
    name="bc", env=EnvConfig(name="jaxcraft:tasks", num_envs=2, rollout_len=4, reset_pool_size=2, pool_refresh_per_step=0),
    task=TaskConfig(frame_size=H, families=("approach", "hunt")),
    net=NetConfig(kind="goal_cnn", channels=(8, 8), hidden=(32,), core_size=0, activation="relu", separate_critic=False),
    ppo=PPOConfig(num_minibatches=1, num_epochs=1, kl_coef=0.2), run=RunConfig(total_env_steps=8, progress=False))
ENV, PARAMS = make_env(CFG.env, CFG.task)
SPACE = ENV.action_space(PARAMS)
NET = make_network(CFG.net, ENV.observation_space(PARAMS), SPACE)
DIST = action_distribution(SPACE)


def _demos(seed=0):
    rng = np.random.default_rng(seed)
    family = rng.integers(0, 4, E).astype(np.int32)
    # The expert's action is a function of the family only: forward iff family is even,
    # camera yaw bin = 2 + family. A policy can learn it exactly from the `family` input.
    action = np.zeros((E, T, 11), np.int32)
    action[:, :, 0] = (family[:, None] % 2 == 0)
    action[:, :, 9] = 5
    action[:, :, 10] = 2 + family[:, None]
    return {"rgb": rng.integers(0, 255, (E, T, H, H, 3), dtype=np.uint8),
            "goal_rgb": rng.integers(0, 255, (E, H, H, 3), dtype=np.uint8),
            "goal_mask": (rng.random((E, H, H)) < 0.1).astype(np.uint8), "family": family, "action": action,
            "length": rng.integers(3, T + 1, E).astype(np.int32)}


def test_sample_windows_matches_a_python_loop():
    demos = _demos()
    key = jax.random.key(3)
    b = sample_windows({k: jnp.asarray(v) for k, v in demos.items()}, key, batch=5, window=4)
    k_ep, k_start = jax.random.split(key)
    ep = np.asarray(jax.random.randint(k_ep, (5,), 0, E))
    u = np.asarray(jax.random.uniform(k_start, (5,)))
    for n in range(5):
        length = demos["length"][ep[n]]
        start = int(np.floor(u[n] * max(length - 4 + 1, 1)))
        for l in range(4):
            t = min(start + l, T - 1)
            np.testing.assert_array_equal(np.asarray(b["obs"]["rgb"][l, n]), demos["rgb"][ep[n], t])
            np.testing.assert_array_equal(np.asarray(b["action"][l, n]), demos["action"][ep[n], t])
            assert bool(b["valid"][l, n]) == (start + l < length)
            assert bool(b["reset"][l, n]) == (l == 0)
            assert int(b["obs"]["family"][l, n]) == demos["family"][ep[n]]


def test_bc_loss_of_a_uniform_policy_is_the_sum_of_log_factor_sizes():
    class Uniform:
        aux_heads = False

        def initial_carry(self, n):
            return ()

        def apply(self, params, carry, obs, reset):
            L, N = reset.shape
            return carry, jnp.zeros((L, N, DIST.num_logits)), jnp.zeros((L, N))

    b = sample_windows({k: jnp.asarray(v) for k, v in _demos().items()}, jax.random.key(0), 4, 5)
    loss, m = bc_loss(None, Uniform(), DIST, b)
    assert float(loss) == pytest.approx(9 * np.log(2) + 2 * np.log(11), rel=1e-5)


def test_bc_loss_up_weights_the_steps_that_show_the_target():
    """ω-weighted NLL and the in-view yaw match against numpy: log-softmax per action factor
    (nine buttons of 2, pitch and yaw of 11) of fixed random logits."""
    L, N = 5, 4
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(L, N, DIST.num_logits)).astype(np.float32)

    class Fixed:
        aux_heads = False

        def initial_carry(self, n):
            return ()

        def apply(self, params, carry, obs, reset):
            return carry, jnp.asarray(logits), jnp.zeros(reset.shape)

    b = sample_windows({k: jnp.asarray(v) for k, v in _demos().items()}, jax.random.key(0), N, L)
    visible = rng.random((L, N)) < 0.3
    b["visible"] = jnp.asarray(visible)
    b["centroid"] = jnp.zeros((L, N, 2))
    act, valid = np.asarray(b["action"]), np.asarray(b["valid"])
    sizes = [2] * 9 + [11, 11]
    logp = np.zeros((L, N))
    best = []
    off = 0
    for d, k in enumerate(sizes):
        seg = logits[..., off:off + k].astype(np.float64)
        ls = seg - np.log(np.exp(seg).sum(-1, keepdims=True))
        logp += np.take_along_axis(ls, act[..., d:d + 1], -1)[..., 0]
        best.append(seg.argmax(-1))
        off += k
    for omega in (1.0, 4.0):
        w = valid * (1 + (omega - 1) * visible)
        loss, m = bc_loss(None, Fixed(), DIST, b, visible_weight=omega)
        assert float(loss) == pytest.approx(-(logp * w).sum() / w.sum(), rel=1e-5)
    seen = valid & visible
    assert float(m["yaw_match_in_view"]) == pytest.approx((best[-1] == act[..., 10])[seen].mean(), abs=1e-6)
    with pytest.raises(ValueError, match="target_visible"):
        bc_loss(None, Fixed(), DIST, {k: v for k, v in b.items() if k != "visible"}, visible_weight=2.0)


@pytest.mark.slow
def test_pretrain_learns_and_params_reach_the_trainer(tmp_path):
    demos = _demos()
    seen = []
    params, rows = pretrain(NET, DIST, demos, ImitationConfig(steps=300, batch_episodes=8, window=4, lr=3e-3),
                            log_every=100, log=None, on_row=seen.append)
    assert seen == rows and [r["step"] for r in rows] == [100, 200, 300]
    uniform_nll = 9 * np.log(2) + 2 * np.log(11)
    assert rows[-1]["nll"] < 0.1 * uniform_nll and rows[-1]["action_exact_match"] > 0.8, rows
    path = save_params(tmp_path / "pre", params)
    with pytest.raises(FileExistsError):
        save_params(path, params)
    from jaxcraft.build import train
    cfg = dataclasses.replace(CFG, run=dataclasses.replace(CFG.run, init_params=str(path), run_dir=str(tmp_path / "run"),
                                                           tensorboard=False, total_env_steps=8))
    result = train(cfg)
    ref = jax.tree.leaves(result.state.ppo.ref_params)
    for a, b in zip(ref, jax.tree.leaves(params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))   # the KL reference is the pretrained policy
    bad = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, init_params=str(tmp_path / "missing"),
                                                           run_dir=str(tmp_path / "run2")))
    from jaxcraft.config import ConfigError
    with pytest.raises(ConfigError, match="run.init_params"):
        train(bad)
    with pytest.raises(ValueError, match="do not fit"):
        load_params(path, {"other": jnp.zeros(3)})


def test_bc_loss_adds_the_dense_target_loss_of_a_spatial_net():
    """Demos with the renderer's target mask (bit-packed) train a spatial fusion's heat map:
    the batch carries the unpacked mask of each sampled step (against np.unpackbits in a loop) and
    bc_loss adds map_coef · target_map_loss of the net's heat map against the cells the mask touches."""
    from jaxcraft.config import GoalNetConfig
    from jaxcraft.nets.spatial import pool_mask, target_map_loss
    net = make_network(dataclasses.replace(CFG.net, goal=GoalNetConfig(fusion="corr")), ENV.observation_space(PARAMS), SPACE)
    demos = _demos(1)
    rng = np.random.default_rng(2)
    mask = rng.random((E, T, H, H)) < 0.05
    demos.update(target_visible=mask.any((-2, -1)), target_centroid=rng.random((E, T, 2)).astype(np.float32),
                 target_mask=np.packbits(mask, axis=-1))
    batch = sample_windows({k: jnp.asarray(v) for k, v in demos.items()}, jax.random.key(5), batch=4, window=3)
    ep = np.asarray(jax.random.randint(jax.random.split(jax.random.key(5))[0], (4,), 0, E))
    for n in range(4):   # the rgb of each sampled step identifies the step; its mask must come with it
        for l in range(3):
            t = next(t for t in range(T) if np.array_equal(demos["rgb"][ep[n], t], np.asarray(batch["obs"]["rgb"][l, n])))
            np.testing.assert_array_equal(np.asarray(batch["target_mask"][l, n]),
                                          np.unpackbits(demos["target_mask"][ep[n], t], axis=-1)[:, :H].astype(bool))
    params = net.init(jax.random.key(0), (), batch["obs"], batch["reset"])
    with_map, m = bc_loss(params, net, DIST, batch, aux_coef=0.5, map_coef=2.0)
    without, _ = bc_loss(params, net, DIST, batch, aux_coef=0.5, map_coef=0.0)
    z = net.apply(params, (), batch["obs"], batch["reset"], method="with_aux")[3]["target_map"]
    want, _ = target_map_loss(z, pool_mask(batch["target_mask"], *z.shape[-2:]) > 0, batch["valid"])
    np.testing.assert_allclose(float(with_map - without), 2.0 * float(want), rtol=1e-4)
    assert "aux/map_pos_bce" in m


def test_mirror_in_view_mirrors_exactly_the_chosen_steps_that_show_the_target():
    """Against a per-step Python loop: a mirrored step has its frame, mask and centroid column
    flipped, left/right strafe swapped and yaw bin b -> 10 - b; other steps are untouched; mirroring
    a mirrored batch with the same key gives the batch back."""
    from jaxcraft.train.imitation.pretrain import mirror_in_view
    rng = np.random.default_rng(3)
    b = sample_windows({k: jnp.asarray(v) for k, v in _demos().items()}, jax.random.key(1), 6, 5)
    L, N = b["valid"].shape
    visible = rng.random((L, N)) < 0.6
    b["visible"] = jnp.asarray(visible)
    b["centroid"] = jnp.asarray(rng.random((L, N, 2)).astype(np.float32))
    b["target_mask"] = jnp.asarray(rng.random((L, N, H, H)) < 0.2)
    action = np.asarray(b["action"]).copy()
    action[..., 2] = rng.integers(0, 2, (L, N))                   # strafe left/right set at random
    b["action"] = jnp.asarray(action)
    key = jax.random.key(5)
    m = mirror_in_view(b, key)
    coin = np.asarray(jax.random.bernoulli(key, 0.5, (L, N)))
    flipped = 0
    for l in range(L):
        for n in range(N):
            rgb, a, c, mask = (np.asarray(x[l, n]) for x in (b["obs"]["rgb"], b["action"], b["centroid"], b["target_mask"]))
            if visible[l, n] and coin[l, n]:
                flipped += 1
                rgb, mask = rgb[:, ::-1], mask[:, ::-1]
                a = a.copy(); a[2], a[3], a[10] = a[3], a[2], 10 - a[10]
                c = np.array([c[0], 1.0 - c[1]], np.float32)
            np.testing.assert_array_equal(np.asarray(m["obs"]["rgb"][l, n]), rgb)
            np.testing.assert_array_equal(np.asarray(m["target_mask"][l, n]), mask)
            np.testing.assert_array_equal(np.asarray(m["action"][l, n]), a)
            np.testing.assert_allclose(np.asarray(m["centroid"][l, n]), c)
    assert 0 < flipped < L * N
    np.testing.assert_array_equal(np.asarray(m["obs"]["goal_rgb"]), np.asarray(b["obs"]["goal_rgb"]))
    back = mirror_in_view(m, key)
    for x, y in zip(jax.tree.leaves(back), jax.tree.leaves(b)):     # 1 - (1 - c) rounds in float32
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-6)
