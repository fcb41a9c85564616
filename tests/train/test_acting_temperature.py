"""Acting.step's evaluation temperature: a_t ~ softmax(logits / T) per action factor.

Oracle: the log-prob returned for the sampled action equals numpy's log-softmax of the
tempered logits, and empirical action frequencies match softmax(logits / T).
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.ppo import multi_discrete
from jaxcraft.ppo.acting import Acting

LOGITS = np.asarray([1.0, 0.0, -1.0, 0.5, -0.5], np.float32)   # factors of 3 and 2 actions
NVEC = (3, 2)


def _apply(params, carry, obs, reset):
    n = reset.shape[1]
    return carry, jnp.broadcast_to(jnp.asarray(LOGITS), (1, n, LOGITS.size)), jnp.zeros((1, n))


def _log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def test_tempered_sampling_matches_softmax_of_logits_over_t():
    n, temperature = 20_000, 0.5
    acting = Acting(_apply, multi_discrete(NVEC))
    keys = jax.random.split(jax.random.key(0), n)
    _, out = acting.step(None, None, (), {"x": jnp.zeros((n, 1))}, jnp.zeros(n, bool), keys, temperature=temperature)
    action = np.asarray(out.action)
    parts = np.split(LOGITS / temperature, [3])
    want_lp = _log_softmax(parts[0])[action[:, 0]] + _log_softmax(parts[1])[action[:, 1]]
    np.testing.assert_allclose(np.asarray(out.log_prob), want_lp, rtol=1e-5, atol=1e-5)
    for f, logits in enumerate(parts):
        freq = np.bincount(action[:, f], minlength=logits.size) / n
        np.testing.assert_allclose(freq, np.exp(_log_softmax(logits)), atol=0.015)
    # T = 1 is the trained policy: the first factor's mode is taken far less often than at T = 0.5
    _, plain = acting.step(None, None, (), {"x": jnp.zeros((n, 1))}, jnp.zeros(n, bool), keys)
    assert np.mean(np.asarray(plain.action)[:, 0] == 0) < np.mean(action[:, 0] == 0) - 0.1
