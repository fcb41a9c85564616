"""goal_cnn with `separate_critic`: a critic warm-up leaves the policy bit-identical.

Oracle: the policy's outputs (logits, aux heads) before and after PPO updates during
`critic_warmup_updates`, compared with `np.array_equal`; the value must move towards the
targets meanwhile, and the policy must move once the warm-up is over.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft import ppo
from jaxcraft.nets import GoalConditionedActorCritic

NVEC = (2, 3)
H = 8


def _obs(T, B, seed=0):
    rng = np.random.default_rng(seed)
    return {"rgb": jnp.asarray(rng.integers(0, 256, (T, B, H, H, 3), dtype=np.uint8)),
            "goal_rgb": jnp.asarray(rng.integers(0, 256, (T, B, H, H, 3), dtype=np.uint8)),
            "goal_mask": jnp.asarray((rng.random((T, B, H, H)) < 0.3).astype(np.uint8)),
            "family": jnp.asarray(rng.integers(0, 4, (T, B)).astype(np.int32))}


def _warmup_update(net, ref_logits_of, **ppo_overrides):
    """(params, obs, reset, logits, values, update, batch, keys, opt) for PPO updates of `net` on one
    fixed batch whose targets are the values + 1, with a 2-update critic warm-up without KL."""
    T, B = 4, 4
    obs, reset = _obs(T, B), jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(0), (), obs, reset)
    dist = ppo.multi_discrete(NVEC)
    _, logits, values = net.apply(params, (), obs, reset)
    action = jax.vmap(jax.vmap(dist.sample))(jax.random.split(jax.random.key(1), T * B).reshape(T, B), logits)
    rng = np.random.default_rng(1)
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action) - 0.1, value=values,
                         advantage=jnp.asarray(rng.normal(size=(T, B)), jnp.float32), target=values + 1.0,
                         reset=reset, carry=(), ref_logits=ref_logits_of(logits))
    cfg = ppo.PPOConfig(lr=1e-2, num_epochs=2, num_minibatches=2, kl_coef=0.5, critic_warmup_updates=2,
                        critic_warmup_kl=False, **ppo_overrides)
    opt = ppo.make_optimizer(cfg, 10)
    update = jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1))
    keys = jax.random.split(jax.random.key(3), B)
    return params, obs, reset, logits, values, update, batch, keys, opt


def test_critic_warmup_keeps_the_policy_bit_identical():
    net = GoalConditionedActorCritic(num_logits=sum(NVEC), channels=(4, 8), hidden=(16,), aux_heads=True,
                                     fusion="conv", separate_critic=True)
    params, obs, reset, _, _, update, batch, keys, opt = _warmup_update(
        net, lambda lg: lg + 0.3 * jax.random.normal(jax.random.key(2), lg.shape), ent_coef=0.01)
    assert "critic" in params["params"] and "value_head" not in params["params"]

    def policy_out(p):
        _, lg, v, aux = net.apply(p, (), obs, reset, method=GoalConditionedActorCritic.with_aux)
        return [np.asarray(lg), np.asarray(aux["visible_logit"]), np.asarray(aux["centroid"])], np.asarray(v)

    before, v0 = policy_out(params)
    state = ppo.init_ppo_state(params, opt, params)
    for _ in range(2):
        state, _ = update(state, batch, keys)
    during, v1 = policy_out(state.params)
    assert all(np.array_equal(a, b) for a, b in zip(before, during))
    assert np.abs(v1 - (v0 + 1.0)).mean() < np.abs(v0 - (v0 + 1.0)).mean()  # the critic learnt
    state, _ = update(state, batch, keys)
    after, _ = policy_out(state.params)
    assert not np.array_equal(after[0], before[0])


def test_shared_torso_has_one_value_head_and_same_param_tree_as_before():
    net = GoalConditionedActorCritic(num_logits=3, channels=(4,), hidden=(8,))
    obs, reset = _obs(1, 2), jnp.zeros((1, 2), bool)
    params = net.init(jax.random.key(0), (), obs, reset)["params"]
    assert "value_head" in params and "critic" not in params


def test_detached_value_head_gets_the_only_value_gradient():
    """value_stop_gradient: d(value)/d(params) is zero everywhere but the value head; without it
    the shared torso gets a gradient too (the oracle: which leaves are exactly zero)."""
    obs, reset = _obs(2, 3), jnp.zeros((2, 3), bool)

    def value_grads(detach):
        net = GoalConditionedActorCritic(num_logits=3, channels=(4,), hidden=(8,), fusion="conv",
                                         value_stop_gradient=detach)
        params = net.init(jax.random.key(0), (), obs, reset)
        # A non-zero value head, so gradients flowing through it into the torso are non-zero.
        params = jax.tree_util.tree_map(lambda x: x + 0.1, params)
        grads = jax.grad(lambda p: net.apply(p, (), obs, reset)[2].sum())(params)["params"]
        return {name: max(float(jnp.abs(g).max()) for g in jax.tree_util.tree_leaves(sub)) for name, sub in grads.items()}

    detached, shared = value_grads(True), value_grads(False)
    assert detached["value_head"] > 0 and shared["value_head"] > 0
    torso = [name for name in detached if name not in ("value_head", "policy_head")]
    assert torso and all(detached[name] == 0.0 for name in torso)
    assert all(shared[name] > 0.0 for name in torso if name != "family_embed")


def test_detached_value_head_keeps_the_policy_bit_identical_in_the_warmup():
    net = GoalConditionedActorCritic(num_logits=sum(NVEC), channels=(4, 8), hidden=(16,), fusion="conv",
                                     value_stop_gradient=True)
    params, obs, reset, logits, values, update, batch, keys, opt = _warmup_update(net, lambda lg: lg + 0.3)
    state = ppo.init_ppo_state(params, opt, params)
    for _ in range(2):
        state, _ = update(state, batch, keys)
    _, lg, v1 = net.apply(state.params, (), obs, reset)
    assert np.array_equal(np.asarray(lg), np.asarray(logits))
    assert np.abs(np.asarray(v1) - np.asarray(values + 1.0)).mean() < 1.0  # the head learnt (was 1.0 off)
