"""A 3×3 stride-2 (or stride-1) SAME convolution whose gradients are plain matrix products.

Why: XLA:CPU computes the two gradients of a strided convolution (w.r.t. the kernel and
w.r.t. the input) at ~7 GFLOP/s on 2 AMD EPYC cores, where its forward convolution reaches ~30;
in PPO's update they were most of the learner's time (benchmarks/train_throughput.py). Here the forward pass is
XLA's convolution and the backward pass is written as dense slices and matmuls, the same
maths in another evaluation order (equal to float reduction order; tested against JAX's
own autodiff of `lax.conv_general_dilated`). On other backends the default is XLA's own
gradient (`matmul_grads=None` → CPU only).

With x̃ the input zero-padded for SAME (lo = ⌊p/2⌋, hi = p − lo, p = 2(H_o − 1) + 3 − H),
and y[o, q] = b + Σ_{i,j<3} x̃[2o + i, 2q + j] · K[i, j]:

    ∂L/∂K[i, j] = Σ_{n,o,q} x̃[n, 2o + i, 2q + j]ᵀ · g[n, o, q]           (9 matmuls)
    ∂L/∂x̃[2m]   = G₀[m] + G₂[m − 1],  ∂L/∂x̃[2m + 1] = G₁[m]   per axis, G_i = g · K[i]ᵀ
    ∂L/∂b        = Σ g

The params are nn.Conv's (`kernel` [3, 3, C_in, C_out], `bias` [C_out]), so checkpoints of
either layer load into the other.
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

_DIMS = ("NHWC", "HWIO", "NHWC")


def _same_pad(size: int) -> tuple[int, int, int]:
    """(out size, pad lo, pad hi) of SAME padding for a 3-tap stride-2 window."""
    out = (size + 1) // 2
    total = max(2 * (out - 1) + 3 - size, 0)
    return out, total // 2, total - total // 2


def _forward(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel, (2, 2), "SAME", dimension_numbers=_DIMS)


def _col2im_axis(g, axis: int, out: int, lo: int, size: int):
    """g [..., 3 (taps along `axis`' kernel dim), ...] → gradient on the unpadded axis.

    `g` holds the three taps G_0, G_1, G_2 stacked on axis `axis` + 1 and the output
    positions on `axis`; even padded positions 2m get G_0[m] + G_2[m − 1], odd ones G_1[m].
    """
    g0, g1, g2 = (jnp.take(g, t, axis=axis + 1) for t in range(3))
    pad = lambda a, before, after: jnp.pad(a, [(before, after) if d == axis else (0, 0) for d in range(a.ndim)])  # noqa: E731
    even = pad(g0, 0, 1) + pad(g2, 1, 0)                          # padded positions 0, 2, …, 2·out
    odd = pad(g1, 0, 1)                                          # 1, 3, …, 2·out − 1 (+ a zero)
    both = jnp.stack([even, odd], axis=axis + 1)                 # interleave: [.., out + 1, 2, ..]
    shape = list(even.shape)
    shape[axis] = 2 * (out + 1)
    full = both.reshape(shape)
    return jax.lax.slice_in_dim(full, lo, lo + size, axis=axis)


@jax.custom_vjp
def conv3x3_s2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """[N, H, W, C] * [3, 3, C, O] → [N, ⌈H/2⌉, ⌈W/2⌉, O] (no bias), matmul gradients."""
    return _forward(x, kernel)


def _saving_inputs(forward):
    """The custom VJP's forward rule: `forward`'s output, with the inputs kept for the backward."""
    return lambda x, kernel: (forward(x, kernel), (x, kernel))


def _bwd(res, g):
    x, kernel = res
    n, h, w, c = x.shape
    ho, hlo, hhi = _same_pad(h)
    wo, wlo, whi = _same_pad(w)
    o = kernel.shape[-1]
    xp = jnp.pad(x, ((0, 0), (hlo, hhi), (wlo, whi), (0, 0)))
    g2 = g.reshape(-1, o)
    dk = jnp.stack([jnp.stack([
        xp[:, i:i + 2 * ho - 1:2, j:j + 2 * wo - 1:2, :].reshape(-1, c).T @ g2 for j in range(3)])
        for i in range(3)])                                                        # [3, 3, C, O]
    taps = (g2 @ kernel.reshape(9 * c, o).T).reshape(n, ho, wo, 3, 3, c)           # G_{ij}[n, o, q]
    # Columns first: [n, ho, wo, 3i, 3j, c] → move i next to ho, then undo the W taps and the H taps.
    taps = jnp.moveaxis(taps, 3, 2)                                                # [n, ho, 3i, wo, 3j, c]
    dx = _col2im_axis(taps, 3, wo, wlo, w)                                         # [n, ho, 3i, w, c]
    dx = _col2im_axis(dx, 1, ho, hlo, h)                                           # [n, h, w, c]
    return dx.astype(x.dtype), dk.astype(kernel.dtype)


conv3x3_s2.defvjp(_saving_inputs(_forward), _bwd)


# Stride 1 (`net.goal.first_stride=1`): the same idea. With x̃ padded by one on every side and
# y[p, q] = Σ_{i,j<3} x̃[p + i, q + j] · K[i, j]:
#     ∂L/∂K[i, j] = Σ_{n,p,q} x̃[n, p + i, q + j]ᵀ · g[n, p, q]            (9 matmuls)
#     ∂L/∂x       = g ⋆ K rotated by 180° with in/out swapped, SAME       (a forward convolution:
#                                                                          the fast kind on XLA:CPU)
def _forward_s1(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMS)


@jax.custom_vjp
def conv3x3_s1(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """[N, H, W, C] * [3, 3, C, O] → [N, H, W, O] (no bias), matmul kernel gradient."""
    return _forward_s1(x, kernel)


def _bwd_s1(res, g):
    x, kernel = res
    n, h, w, c = x.shape
    o = kernel.shape[-1]
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    g2 = g.reshape(-1, o)
    dk = jnp.stack([jnp.stack([xp[:, i:i + h, j:j + w, :].reshape(-1, c).T @ g2 for j in range(3)])
                    for i in range(3)])                                            # [3, 3, C, O]
    dx = _forward_s1(g, jnp.swapaxes(kernel[::-1, ::-1], 2, 3))                    # [n, h, w, c]
    return dx.astype(x.dtype), dk.astype(kernel.dtype)


conv3x3_s1.defvjp(_saving_inputs(_forward_s1), _bwd_s1)


class StridedConv3x3(nn.Module):
    """nn.Conv(features, (3, 3), strides=stride, padding="SAME") with the same params, faster gradients on CPU.

    `matmul_grads`: True = the matmul backward above, False = XLA's own, None = True on CPU only.
    `stride`: 2 (the torsos' layers) or 1 (a full-resolution first layer).
    """

    features: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    matmul_grads: Optional[bool] = None
    stride: int = 2

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        use = self.matmul_grads if self.matmul_grads is not None else jax.default_backend() == "cpu"
        if self.stride == 1:
            y = conv3x3_s1(x, kernel) if use else _forward_s1(x, kernel)
        elif self.stride == 2:
            y = conv3x3_s2(x, kernel) if use else _forward(x, kernel)
        else:
            raise ValueError(f"StridedConv3x3: stride must be 1 or 2, got {self.stride}")
        return y + bias
