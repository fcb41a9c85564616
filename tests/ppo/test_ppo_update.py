"""The PPO update: minibatch layout, recurrent chunks, and that it improves the policy."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft import ppo
from jaxcraft.nets import ActorCritic, MLPEncoder
from jaxcraft.ppo.update import _minibatches


def _batch(T, B, carry_dim=0):
    idx = jnp.arange(T * B, dtype=jnp.float32).reshape(T, B)
    carry = jnp.stack([idx] * carry_dim, -1) if carry_dim else ()
    return ppo.PPOBatch(obs=idx[..., None], action=jnp.zeros((T, B), jnp.int32), log_prob=idx, value=idx,
                        advantage=idx, target=idx, reset=jnp.zeros((T, B), bool), carry=carry)


@pytest.mark.parametrize("T,B,L,M", [(8, 3, 1, 4), (8, 2, 4, 2), (12, 4, 3, 2)])
def test_minibatches_cover_every_sample_once_and_every_env_each(T, B, L, M):
    batch = _batch(T, B, carry_dim=2)
    keys = jax.random.split(jax.random.key(0), B)
    mbs = _minibatches(batch, keys, M, L)
    assert mbs.advantage.shape == (M, L, (T // L // M) * B)
    ids = np.asarray(mbs.advantage).astype(int)
    np.testing.assert_array_equal(np.sort(ids.ravel()), np.arange(T * B))  # each sample exactly once
    for m in range(M):
        envs = ids[m] % B
        for b in range(B):   # every env contributes T/(L·M) chunks to every minibatch
            assert (envs[0] == b).sum() == T // L // M
        # sequences are contiguous in time within a chunk
        times = ids[m] // B
        np.testing.assert_array_equal(np.diff(times, axis=0), 1)
        # the stored carry of a chunk is the one at its first step
        np.testing.assert_array_equal(np.asarray(mbs.carry[m])[:, 0].astype(int), ids[m][0])


def test_minibatches_depend_on_env_keys_not_batch_layout():
    # An env's chunk order depends only on its own key: splitting the envs in two halves
    # (as two devices would) gives the same per-env samples.
    T, B, L, M = 8, 4, 2, 2
    batch = _batch(T, B)
    keys = jax.random.split(jax.random.key(3), B)
    full = np.asarray(_minibatches(batch, keys, M, L).advantage)
    half = jax.tree.map(lambda x: x[:, :2] if hasattr(x, "ndim") and x.ndim >= 2 else x, batch)
    part = np.asarray(_minibatches(half, keys[:2], M, L).advantage)
    full_env01 = full.reshape(M, L, T // L // M, B)[..., :2].reshape(M, L, -1)
    np.testing.assert_array_equal(part, full_env01)


def _gru_net():
    return ActorCritic(make_encoder=functools.partial(MLPEncoder, hidden=(8,)), num_logits=3, core_size=6)


def test_recurrent_chunks_resume_from_stored_state_and_reset_at_starts():
    net = _gru_net()
    T, N = 8, 2
    obs = jax.random.normal(jax.random.key(0), (T, N, 4))
    reset = jnp.zeros((T, N), bool).at[0].set(True).at[5, 1].set(True)
    params = net.init(jax.random.key(1), net.initial_carry(N), obs, reset)
    # Step-by-step, as in a rollout: record the carry before each step.
    carry, carries, logits_steps = net.initial_carry(N), [], []
    for t in range(T):
        carries.append(carry)
        carry, lg, _ = net.apply(params, carry, obs[t:t + 1], reset[t:t + 1])
        logits_steps.append(lg[0])
    logits_steps = jnp.stack(logits_steps)
    # Chunk [4, 8) from the stored carry gives the same outputs as the step-by-step pass.
    _, lg_chunk, _ = net.apply(params, carries[4], obs[4:], reset[4:])
    np.testing.assert_allclose(np.asarray(lg_chunk), np.asarray(logits_steps[4:]), rtol=1e-5, atol=1e-6)
    # A reset step forgets the past: garbage carry + reset == zero carry + reset.
    junk = jax.random.normal(jax.random.key(2), (N, 6)) * 10
    _, a, _ = net.apply(params, junk, obs[:1], jnp.ones((1, N), bool))
    _, b, _ = net.apply(params, net.initial_carry(N), obs[:1], jnp.ones((1, N), bool))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    # ...while without reset the carry matters.
    _, c, _ = net.apply(params, junk, obs[:1], jnp.zeros((1, N), bool))
    assert not np.allclose(np.asarray(a), np.asarray(c))


def test_update_moves_policy_towards_positive_advantages():
    # A one-state bandit: action 0 has advantage +1, action 1 has −1.
    net = ActorCritic(make_encoder=functools.partial(MLPEncoder, hidden=(8,)), num_logits=2)
    dist = ppo.categorical(2)
    T, B = 8, 4
    obs = jnp.ones((T, B, 3))
    reset = jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(0), (), obs, reset)
    _, logits, values = net.apply(params, (), obs, reset)
    action = (jnp.arange(T * B).reshape(T, B) % 2).astype(jnp.int32)
    adv = jnp.where(action == 0, 1.0, -1.0)
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action), value=values,
                         advantage=adv, target=values, reset=reset, carry=())
    cfg = ppo.PPOConfig(lr=1e-2, num_epochs=2, num_minibatches=2, ent_coef=0.0)
    opt = ppo.make_optimizer(cfg, 1)
    update = jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1))
    state = ppo.init_ppo_state(params, opt)
    new_state, metrics = update(state, batch, jax.random.split(jax.random.key(1), B))
    _, new_logits, _ = net.apply(new_state.params, (), obs[:1, :1], reset[:1, :1])
    p_before = float(jax.nn.softmax(logits[0, 0])[0])
    p_after = float(jax.nn.softmax(new_logits[0, 0])[0])
    assert p_after > p_before + 0.01
    assert int(new_state.update_step) == 1
    for k in ("loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac", "kl_ref", "grad_norm"):
        assert np.isfinite(float(metrics[k])), k


def _one_state_batch(T=4, B=2):
    """A 2-action one-state problem: (net, dist, params, logits, values, batch) where the batch
    holds action 0 everywhere with zero advantages and targets equal to the values."""
    net = ActorCritic(make_encoder=functools.partial(MLPEncoder, hidden=(8,)), num_logits=2)
    dist = ppo.categorical(2)
    obs = jnp.ones((T, B, 3))
    reset = jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(0), (), obs, reset)
    _, logits, values = net.apply(params, (), obs, reset)
    action = jnp.zeros((T, B), jnp.int32)
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action), value=values,
                         advantage=jnp.zeros((T, B)), target=values, reset=reset, carry=())
    return net, dist, params, logits, values, batch


def test_kl_penalty_is_zero_at_reference_and_pulls_back():
    net, dist, params, logits, values, batch = _one_state_batch()
    T, B = batch.action.shape
    obs, reset = batch.obs, batch.reset
    batch = batch._replace(ref_logits=logits)
    cfg = ppo.PPOConfig(lr=1e-3, num_epochs=1, num_minibatches=1, kl_coef=0.2, normalize_advantages=False)
    opt = ppo.make_optimizer(cfg, 1)
    update = ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1)
    _, m = update(ppo.init_ppo_state(params, opt, params), batch, jax.random.split(jax.random.key(1), B))
    assert float(m["kl_ref"]) == pytest.approx(0.0, abs=1e-7)
    # Against a reference that prefers action 1, the gradient of the KL term moves towards it.
    ref = jnp.broadcast_to(jnp.array([-2.0, 2.0]), logits.shape)
    state, m = update(ppo.init_ppo_state(params, opt, params), batch._replace(ref_logits=ref),
                      jax.random.split(jax.random.key(1), B))
    assert float(m["kl_ref"]) > 0
    _, new_logits, _ = net.apply(state.params, (), obs[:1, :1], reset[:1, :1])
    assert float(jax.nn.softmax(new_logits[0, 0])[1]) > float(jax.nn.softmax(logits[0, 0])[1])


def test_critic_warmup_updates_only_the_critic_then_the_policy():
    """Separate actor/critic encoders: during the warm-up the actor's params (encoder 0 and the
    policy head Dense_0) are bit-for-bit unchanged while the critic's move; afterwards both move."""
    net, dist, params, logits, values, batch = _one_state_batch()
    T, B = batch.action.shape
    batch = batch._replace(advantage=jnp.ones((T, B)), target=values + 1.0)
    cfg = ppo.PPOConfig(lr=1e-2, num_epochs=1, num_minibatches=1, normalize_advantages=False, critic_warmup_updates=2)
    opt = ppo.make_optimizer(cfg, 1)
    update = jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1))
    keys = jax.random.split(jax.random.key(1), B)
    actor = lambda p: (p["params"]["MLPEncoder_0"], p["params"]["Dense_0"])  # noqa: E731
    critic = lambda p: (p["params"]["MLPEncoder_1"], p["params"]["Dense_1"])  # noqa: E731
    same = lambda a, b: all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))  # noqa: E731
    state = ppo.init_ppo_state(params, opt)
    for _ in range(2):
        new, _ = update(state, batch, keys)
        assert same(actor(new.params), actor(state.params)) and not same(critic(new.params), critic(state.params))
        state = new
    new, _ = update(state, batch, keys)
    assert not same(actor(new.params), actor(state.params))
    with pytest.raises(ValueError, match="critic_warmup_updates"):
        ppo.PPOConfig(critic_warmup_updates=-1).validate()


def test_bad_layout_is_named():
    # The config layer's error type (a ValueError), so `validate` passes it on unwrapped.
    with pytest.raises(ppo.ConfigError, match="num_minibatches") as e:
        ppo.check_batch_layout(ppo.PPOConfig(num_minibatches=3), 8, recurrent=False)
    assert str(e.value) == "ppo.num_minibatches=3 must divide the 8 chunks per env (rollout length 8 / chunk_len 1)"
    with pytest.raises(ppo.ConfigError, match="chunk_len"):
        ppo.check_batch_layout(ppo.PPOConfig(chunk_len=3, num_minibatches=1), 8, recurrent=True)
    with pytest.raises(ValueError, match="ppo.lr"):
        ppo.PPOConfig(lr=0.0).validate()
