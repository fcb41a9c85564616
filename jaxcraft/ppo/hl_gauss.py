"""HL-Gauss categorical value head (Farebrother et al. 2024, "Stop Regressing", arXiv 2403.03950).

The critic outputs logits z over K bins of [v_min, v_max] (edges b_0 < … < b_K, width
w = (v_max − v_min) / K, centres c_i = (b_i + b_{i+1}) / 2) instead of a scalar. A scalar
target y becomes the histogram of a Gaussian N(y, σ²) truncated to the support:

    p_i(y) = [Φ((b_{i+1} − y)/σ) − Φ((b_i − y)/σ)] / [Φ((b_K − y)/σ) − Φ((b_0 − y)/σ)]

the loss is the cross-entropy  L = −Σ_i p_i(y) log softmax(z)_i  (mean over samples), and the
value is decoded as the expected bin centre  v = Σ_i softmax(z)_i c_i. The paper's default is
σ = 0.75·w (`sigma_ratio`). With value normalisation on, y and v are in normalised units.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.scipy.special import erf


@dataclasses.dataclass(frozen=True)
class HLGauss:
    """Support and smoothing of the histogram value head."""

    v_min: float = -5.0
    v_max: float = 5.0
    num_bins: int = 51
    sigma_ratio: float = 0.75  # σ = sigma_ratio · bin width

    def __post_init__(self):
        if not self.v_max > self.v_min:
            raise ValueError(f"HLGauss: v_max={self.v_max} must exceed v_min={self.v_min}")
        if self.num_bins < 2:
            raise ValueError(f"HLGauss: num_bins={self.num_bins} must be >= 2")
        if not self.sigma_ratio > 0:
            raise ValueError(f"HLGauss: sigma_ratio={self.sigma_ratio} must be > 0")

    @property
    def sigma(self) -> float:
        return self.sigma_ratio * (self.v_max - self.v_min) / self.num_bins

    def edges(self) -> jax.Array:
        return jnp.linspace(self.v_min, self.v_max, self.num_bins + 1, dtype=jnp.float32)

    def centres(self) -> jax.Array:
        e = self.edges()
        return 0.5 * (e[:-1] + e[1:])

    def target_probs(self, y: jax.Array) -> jax.Array:
        """[...] scalar targets → [..., K] histogram p(y) (targets outside the support are clipped)."""
        y = jnp.clip(y, self.v_min, self.v_max)[..., None]
        cdf = 0.5 * (1.0 + erf((self.edges() - y) / (jnp.sqrt(2.0) * self.sigma)))  # [..., K+1]
        mass = cdf[..., 1:] - cdf[..., :-1]
        return mass / (cdf[..., -1:] - cdf[..., :1])

    def loss(self, logits: jax.Array, y: jax.Array) -> jax.Array:
        """Mean cross-entropy between p(y) and softmax(logits); logits [..., K], y [...]."""
        p = jax.lax.stop_gradient(self.target_probs(y))
        return -jnp.mean(jnp.sum(p * jax.nn.log_softmax(logits, axis=-1), axis=-1))

    def decode(self, logits: jax.Array) -> jax.Array:
        """[..., K] logits → [...] expected bin centre."""
        return jnp.sum(jax.nn.softmax(logits, axis=-1) * self.centres(), axis=-1)


def decoded(apply_fn, hl: HLGauss):
    """Wrap a net returning value logits [L, N, K] into the scalar-value contract (for acting)."""
    def apply(params, carry, obs, reset):
        carry, logits, value_logits = apply_fn(params, carry, obs, reset)
        return carry, logits, hl.decode(value_logits)
    return apply
