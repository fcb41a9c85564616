"""Spatial goal fusion: where in the agent's own frame is the goal's target? (ROCKET-2/3, small)

FiLM (`fusion="late"`/`"conv"`) scales whole channels by the goal: nothing matches the goal's
target to particular pixels of the frame, so a student can learn the teacher's search without
ever locating its target (docs/tasks.md, "Does the student see its target?"). The two fusions
here compare the goal's target with every cell of the frame's conv feature map and return a
heat map of logits z [B, h, w], "the target is in this cell", which the policy reads and which
the renderer's target mask supervises cell by cell (`target_map_loss`).

Inputs: the frame map F [B, h, w, C] (the frame torso before its last layer), the goal map
G [B, h', w', C] (the goal torso, same layers) and the goal mask pooled to it, m [B, h', w'] in
[0, 1] (fraction of target pixels per cell).

* `corr` (Siamese correlation): the target's embedding is the mask-weighted mean of the goal map,

      e = Σ_t m_t·G_t / max(Σ_t m_t, ε),   q = W_q [e; family],   z_ij = ⟨W_k F_ij, q⟩ / √D + b

  and the fused map is F itself (z is appended by the caller).
* `attention` (non-causal cross-attention, one head): each frame cell attends to the goal's cells,
  the mask both an input channel of the goal tokens and a bias, plus a learned *null* token
  ("nothing of the target here"): without it the mask bias would leave only target tokens and
  the softmax would give every frame cell the same weight on them, whatever it shows.

      k_t, v_t = W_k [G_t; m_t], W_v [G_t; m_t],  bias_t = β·(m_t − 1)   (β = softplus(·) ≥ 0)
      a_ij = softmax over {t} ∪ {null} of ⟨W_q F_ij, k⟩ / √D + bias
      F'_ij = F_ij + W_o Σ a_ij·v,   s_ij = logsumexp_t(logit_ij,t) − logit_ij,null,
      z_ij = w_z · [F'_ij; s_ij] + b

  No positional code on either side: the goal's tokens are a set (permuting them changes
  nothing) and the frame's cells are permuted with their heat (tested).

What depends only on the goal (q; or k, v and the bias) is its *code*, a flat vector that acting
computes once per episode (`goal_code`), so a step costs one small matmul per frame cell. The
heat map gives the auxiliary outputs without extra heads: visible logit = max_ij z_ij + b_v (some
cell is the target) and centroid = Σ softmax(κ·z)_ij·centre_ij (a soft-argmax, in [0, 1]²), with
b_v and κ = softplus(·) learned. Not logsumexp and a plain softmax: the class-balanced cell loss
leaves the ~63 empty cells only moderately negative, so their sum would say "visible" in every
frame and pull the centroid to the middle (measured: visibility accuracy 30-50 %, centroid
error ~6 px after 3,000 cloning steps).
"""
from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

SPATIAL_FUSIONS = ("corr", "attention")


def goal_code_width(fusion: str, width: int, dim: int, tokens: int) -> int:
    """Size of goal_cnn's cached goal code: the FiLM/trunk code (width) + the fusion's own part."""
    return width + {"corr": dim, "attention": tokens * (2 * dim + 1)}.get(fusion, 0)


def pool_mask(mask: jax.Array, h: int, w: int) -> jax.Array:
    """Fraction of target pixels in each cell of an h×w grid: mask [..., H, W] (bool/0-1) → [..., h, w].

    Exact area averaging when H, W are multiples of h, w (a stride-2 torso on 2^k-px frames);
    otherwise antialiased linear resizing, an approximation of it.
    """
    m = mask.astype(jnp.float32)
    H, W = m.shape[-2:]
    if H % h == 0 and W % w == 0:
        lead = m.shape[:-2]
        return m.reshape(lead + (h, H // h, w, W // w)).mean(axis=(-3, -1))
    return jax.image.resize(m, m.shape[:-2] + (h, w), method="linear", antialias=True)


def heat_aux(heat: jax.Array, sharpness: jax.Array = 1.0, visible_bias: jax.Array = 0.0) -> dict:
    """Aux outputs of a heat map [..., h, w]: visible logit [...] = max z + visible_bias, centroid
    [..., 2] (row, col) = soft-argmax of sharpness·z over the cell centres, and the map itself."""
    h, w = heat.shape[-2:]
    flat = heat.reshape(heat.shape[:-2] + (h * w,))
    rows = (jnp.arange(h, dtype=jnp.float32) + 0.5) / h
    cols = (jnp.arange(w, dtype=jnp.float32) + 0.5) / w
    centres = jnp.stack(jnp.meshgrid(rows, cols, indexing="ij"), -1).reshape(h * w, 2)
    return {"visible_logit": flat.max(axis=-1) + visible_bias,
            "centroid": jax.nn.softmax(sharpness * flat, axis=-1) @ centres,
            "target_map": heat}


def target_map_loss(z: jax.Array, frac: jax.Array, valid: jax.Array) -> tuple[jax.Array, dict]:
    """Class-balanced BCE of heat logits z [L, N, h, w] against target fractions frac (same shape).

    With f the fraction of target pixels in a cell (a soft label) and w = valid[l, n]:

        pos  = Σ w·f·softplus(−z) / max(Σ w·f, 1)         (−log σ(z) on target cells)
        neg  = Σ w·(1 − f)·softplus(z) / max(Σ w·(1 − f), 1)   (−log(1 − σ(z)) elsewhere)
        loss = pos + neg

    Balanced because a target 20 blocks away covers one or two of the 64 cells.
    """
    chex.assert_equal_shape([z, frac])
    chex.assert_shape(valid, z.shape[:2])
    w = valid.astype(jnp.float32)[..., None, None]
    f = frac.astype(jnp.float32)
    pos_w, neg_w = w * f, w * (1.0 - f)
    pos = jnp.sum(pos_w * jnp.logaddexp(0.0, -z)) / jnp.maximum(pos_w.sum(), 1.0)
    neg = jnp.sum(neg_w * jnp.logaddexp(0.0, z)) / jnp.maximum(neg_w.sum(), 1.0)
    hit = (z > 0) == (f > 0)
    return pos + neg, {"aux/map_pos_bce": pos, "aux/map_neg_bce": neg,
                       "aux/map_cell_acc": jnp.sum(w * hit) / jnp.maximum(w.sum() * z.shape[-1] * z.shape[-2], 1.0)}


class SpatialGoalFusion(nn.Module):
    """Heat map of the goal's target over the frame map; see the module doc.

    `encode_goal(gmap, m, fam)` → the goal's code [B, code_size(tokens)];
    `__call__(fmap, code)` → (fused map [B, h, w, C], heat logits [B, h, w]).
    `tokens` (attention only) is the goal map's cell count h'·w', which fixes the code's size.
    """

    kind: str = "corr"
    width: int = 32     # C, the frame map's channels
    dim: int = 32       # D
    tokens: int = 0

    def setup(self):
        if self.kind not in SPATIAL_FUSIONS:
            raise ValueError(f"spatial fusion must be one of {SPATIAL_FUSIONS}, got {self.kind!r}")
        ortho = nn.initializers.orthogonal
        self.q = nn.Dense(self.dim, kernel_init=ortho(1.0))
        self.k = nn.Dense(self.dim, kernel_init=ortho(1.0))
        if self.kind == "attention":
            self.v = nn.Dense(self.dim, kernel_init=ortho(1.0))
            self.null_k = self.param("null_k", nn.initializers.normal(1.0), (self.dim,))
            self.null_v = self.param("null_v", nn.initializers.zeros, (self.dim,))
            # softplus(1.4) ≈ 1.6: off-target goal cells start damped, not erased (gradients still reach them).
            self.mask_beta = self.param("mask_beta", nn.initializers.constant(1.4), ())
            self.attn_out = nn.Dense(self.width, kernel_init=nn.initializers.zeros)
            self.heat_head = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))
        self.bias = self.param("heat_bias", nn.initializers.constant(-2.0), ())
        self.visible_bias = self.param("visible_bias", nn.initializers.zeros, ())
        self.sharpness = self.param("sharpness", nn.initializers.constant(4.0), ())   # softplus(4) ≈ 4

    def aux(self, heat: jax.Array) -> dict:
        """`heat_aux` of a heat map [..., h, w] with this fusion's learned sharpness and visibility bias."""
        return heat_aux(heat, nn.softplus(self.sharpness), self.visible_bias)

    def encode_goal(self, gmap: jax.Array, m: jax.Array, fam: jax.Array) -> jax.Array:
        """gmap [B, h', w', C], m [B, h', w'] in [0, 1], fam [B, E] → code [B, code_size]."""
        b = gmap.shape[0]
        if self.kind == "corr":
            e = jnp.einsum("bhw,bhwc->bc", m, gmap) / jnp.maximum(m.sum((1, 2)), 1e-6)[:, None]
            return self.q(jnp.concatenate([e, fam], -1))
        tokens = jnp.concatenate([gmap, m[..., None]], -1).reshape(b, -1, gmap.shape[-1] + 1)
        if tokens.shape[1] != self.tokens:
            raise ValueError(f"attention fusion was built for {self.tokens} goal cells, got {tokens.shape[1]} "
                             "(the goal frame's size differs from the observation space's)")
        bias = (m.reshape(b, -1) - 1.0) * nn.softplus(self.mask_beta)
        return jnp.concatenate([self.k(tokens).reshape(b, -1), self.v(tokens).reshape(b, -1), bias], -1)

    def __call__(self, fmap: jax.Array, code: jax.Array) -> tuple[jax.Array, jax.Array]:
        b, h, w, c = fmap.shape
        chex.assert_shape(fmap, (None, None, None, self.width))
        d = self.dim
        if self.kind == "corr":
            heat = jnp.einsum("bhwd,bd->bhw", self.k(fmap), code) / np.sqrt(d) + self.bias
            return fmap, heat
        t = self.tokens
        k, v, bias = code[:, :t * d].reshape(b, t, d), code[:, t * d:2 * t * d].reshape(b, t, d), code[:, 2 * t * d:]
        k = jnp.concatenate([k, jnp.broadcast_to(self.null_k, (b, 1, d))], 1)
        v = jnp.concatenate([v, jnp.broadcast_to(self.null_v, (b, 1, d))], 1)
        bias = jnp.concatenate([bias, jnp.zeros((b, 1), bias.dtype)], 1)
        logits = jnp.einsum("bhwd,btd->bhwt", self.q(fmap), k) / np.sqrt(d) + bias[:, None, None, :]
        attended = jnp.einsum("bhwt,btd->bhwd", jax.nn.softmax(logits, -1), v)
        fused = self.attn_out(attended) + fmap
        # How much more a cell attends to the goal's cells than to the null token, as an input of its heat.
        seen = jax.nn.logsumexp(logits[..., :t], -1) - logits[..., t]
        heat = self.heat_head(jnp.concatenate([fused, seen[..., None]], -1))[..., 0] + self.bias
        return fused, heat
