"""A frozen perception encoder (`ppo.freeze_encoder`; ROCKET-3 freezes its backbone during RL).

Oracles: the full network (`apply` on observations) — the decision part on the encoder's features
must give the same outputs and the same gradients for its params (none for the encoder's); a PPO
update on cached features (KL term on, a reference that differs from the policy in its decision
part only) equals the update that recomputes the features from the observations, with the same
encoder-freezing optimizer; in a real run the encoder's params stay bit-identical and the
trajectory holds features, not frames.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_network, make_trainer
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, NetConfig, RunConfig, validate
from jaxcraft.envs.spaces import MultiDiscrete, action_distribution
from jaxcraft.ppo import PPOConfig
from jaxcraft.ppo.update import PPOBatch, init_ppo_state, make_optimizer, make_update_fn
from jaxcraft.tasks import TaskConfig
from jaxcraft.ppo.acting import frozen_encoder_apply
from jaxcraft.train.learner import freeze_modules

SPACE = MultiDiscrete((2,) * 9 + (11, 11))
DIST = action_distribution(SPACE)
NET = NetConfig(kind="goal_cnn", channels=(4, 8), hidden=(16,), core_size=0, activation="relu", separate_critic=False)
T, B, H = 4, 3, 16


def _obs(seed, lead):
    rng = np.random.default_rng(seed)
    return {"rgb": jnp.asarray(rng.integers(0, 256, lead + (H, H, 3)), jnp.uint8),
            "goal_rgb": jnp.asarray(rng.integers(0, 256, lead + (H, H, 3)), jnp.uint8),
            "goal_mask": jnp.asarray(rng.random(lead + (H, H)) < 0.1, jnp.uint8),
            "family": jnp.asarray(rng.integers(0, 4, lead), jnp.int32)}


@pytest.fixture(scope="module", params=["conv", "corr"])
def net(request):
    network = make_network(dataclasses.replace(NET, goal=dataclasses.replace(NET.goal, fusion=request.param)), None, SPACE)
    params = jax.jit(network.init)(jax.random.key(0), (), _obs(0, (1, 2)), jnp.zeros((1, 2), bool))
    return network, params


def _apply(network, method=None):
    """network.apply (with `method`) as one compiled program: op-by-op dispatch compiles every
    primitive of the net on its own, which costs far more on a cold compilation cache."""
    return jax.jit(lambda *args: network.apply(*args, method=method))


def test_decide_on_features_is_the_network_and_its_gradients_restricted(net):
    network, params = net
    encode, decide = frozen_encoder_apply(network)
    obs, reset = _obs(1, (T, B)), jnp.zeros((T, B), bool)
    feats = _apply(network, "encode")(params, obs)
    full, part = _apply(network)(params, (), obs, reset), jax.jit(decide)(params, (), feats, reset)
    for a, b in zip(full[1:], part[1:]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(encode)(params, jax.tree.map(lambda x: x[0], obs))), np.asarray(feats[0]),
                               rtol=1e-5, atol=1e-6)

    def loss(p, via_features):
        out = decide(p, (), jax.lax.stop_gradient(feats), reset) if via_features else network.apply(p, (), obs, reset)
        return jnp.sum(out[1] ** 2) + jnp.sum(out[2])

    grad = jax.jit(jax.grad(loss, argnums=0), static_argnums=1)
    g_full, g_part = grad(params, False), grad(params, True)
    for name in params["params"]:
        for a, b in zip(jax.tree.leaves(g_full["params"][name]), jax.tree.leaves(g_part["params"][name])):
            if name in network.encoder_modules:
                assert not np.asarray(b).any(), name
            else:
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6, err_msg=name)


def test_update_on_cached_features_equals_recomputing_them(net):
    network, params = net
    _, decide = frozen_encoder_apply(network)
    cfg = PPOConfig(num_minibatches=1, num_epochs=2, kl_coef=0.3, lr=1e-3, weight_decay=0.01, freeze_encoder=True)
    opt = freeze_modules(make_optimizer(cfg, 10), network.encoder_modules)
    # A reference that differs in its decision part only (its encoder is the frozen one): a live KL term.
    ref = {"params": {k: (v if k in network.encoder_modules else jax.tree.map(lambda x: x * 0.5, v))
                      for k, v in params["params"].items()}}
    obs, reset = _obs(2, (T, B)), jnp.zeros((T, B), bool)
    rng = np.random.default_rng(3)
    action = jnp.asarray(np.stack([rng.integers(0, n, (T, B)) for n in SPACE.nvec], -1), jnp.int32)
    apply = _apply(network)
    _, logits, value = apply(params, (), obs, reset)
    _, ref_logits, _ = apply(ref, (), obs, reset)
    batch = PPOBatch(obs=obs, action=action, log_prob=jax.jit(DIST.log_prob)(logits, action) - 0.05, value=value,
                     advantage=jnp.asarray(rng.normal(size=(T, B)), jnp.float32), target=value + 0.3,
                     reset=reset, carry=(), ref_logits=ref_logits)
    keys = jax.random.split(jax.random.key(4), B)
    state = init_ppo_state(params, opt, ref)
    full, _ = jax.jit(make_update_fn(network.apply, DIST, opt, cfg, 1))(state, batch, keys)
    feats = _apply(network, "encode")(params, obs)
    cached, m = jax.jit(make_update_fn(decide, DIST, opt, cfg, 1))(state, batch._replace(obs=feats), keys)
    assert float(m["kl_ref"]) > 0
    for name in params["params"]:
        for a, b, p0 in zip(jax.tree.leaves(full.params["params"][name]), jax.tree.leaves(cached.params["params"][name]),
                            jax.tree.leaves(params["params"][name])):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6, err_msg=name)
            if name in network.encoder_modules:      # frozen, weight decay included
                np.testing.assert_array_equal(np.asarray(b), np.asarray(p0))


def test_a_frozen_run_keeps_the_encoder_bit_identical_and_stores_features():
    config = ExperimentConfig(
        name="frozen", env=EnvConfig(name="jaxcraft:tasks", num_envs=2, rollout_len=4, reset_pool_size=2,
                                      pool_refresh_per_step=0),
        task=TaskConfig(families=("approach",), distances=(20,), frame_size=16, max_steps=3),
        net=NET, ppo=PPOConfig(num_minibatches=1, num_epochs=1, kl_coef=0.2, freeze_encoder=True),
        run=RunConfig(total_env_steps=16, progress=False))
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    before = jax.tree.map(np.asarray, state.ppo.params)
    # Traced, not compiled (the run below compiles the same rollout inside its update).
    _, traj = jax.eval_shape(trainer.rollout, state.ppo.params, state.ppo.ref_params, state.ppo.value_norm, state.actor)
    assert traj.obs.shape[:2] == (4, 2) and len(traj.obs.shape) == 3       # [T, B, F] features, not frames
    state, _ = trainer.run(state, 2)
    for name, sub in state.ppo.params["params"].items():
        same = all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(sub), jax.tree.leaves(before["params"][name])))
        assert same == (name in trainer.network.encoder_modules), name
    with pytest.raises(ConfigError, match="ppo.freeze_encoder needs"):
        validate(dataclasses.replace(config, net=dataclasses.replace(NET, separate_critic=True)), 1)
