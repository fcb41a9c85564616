"""Goal-conditioned actor-critic for cross-view tasks (ROCKET-3 style).

The agent sees its own frame and a goal image of the target taken from another camera,
with the target's mask, plus the interaction family (approach, break, interact, hunt):

    obs = {"rgb": uint8[L, N, H, W, 3], "goal_rgb": uint8[L, N, H, W, 3],
           "goal_mask": uint8[L, N, H, W] (0/1), "family": int32[L, N] in [0, num_families)}
    carry, logits, value = module.apply(params, carry, obs, reset)   # the jaxcraft.ppo contract
      → logits [L, N, num_logits], value [L, N]

Frame and goal are encoded by separate conv torsos (the goal torso gets the mask as a 4th
channel). The goal code (goal image + family embedding) modulates the frame features with
FiLM, f' = f·(1 + γ(g)) + β(g), and is concatenated with them before a shared MLP trunk,
(`fusion="conv"` also FiLMs every conv layer of the frame torso, per channel, before its
activation, so the frame's feature maps are goal-specific where the target is — spatial
fusion, which finding one small block in a frame needs; ROCKET-1/2 fuse early too),
an optional recurrent core (`core_kind`: a `ResetGRU` or a `TransformerXLCore`; the heads read its output and its input: see `_decide`), and linear policy/value heads. With `aux_heads`, two more
heads on the same features predict whether the target is visible in the agent frame and
its centroid there (ROCKET-2's auxiliary task), read through `method="aux"`.

`fusion="corr"` / `"attention"` (jaxcraft.nets.spatial) match the goal's target against every
cell of the frame's feature map instead: both torsos stop one layer early, a heat map z of the
target over the frame's cells (logits) is made there, the last frame layer reads the map with
σ(z) as one more channel, and the trunk also reads σ(z), its soft-argmax and its visibility. The
aux outputs come off the heat map (max and soft-argmax, no extra heads), plus `target_map` = z, which imitation
trains against the renderer's target mask (`target_map_loss`). The goal code then also holds the
fusion's goal part (the target's query; or the goal cells' keys, values and mask bias).

Goal deduplication (`goal_table`): the goal is constant within an episode, so a PPO
minibatch of thousands of samples holds only ~one distinct goal per env and episode. When a
call sees more than `goal_table` samples, the goal torso runs once per *distinct* goal
(identified by a content hash, then verified byte for byte) and the codes are gathered back
to the samples; the gather's gradient sums the samples' gradients per goal, so outputs and
gradients equal the per-sample computation to float reduction order. If the batch holds more
than `goal_table` distinct goals (or a hash collides) a `lax.cond` falls back to encoding
every sample.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from bridge import crossview as X
from bridge.crossview import FAMILIES

from jaxcraft.config import NetConfig
from jaxcraft.nets.conv import StridedConv3x3
from jaxcraft.nets.encoders import as_float, activation
from jaxcraft.nets.recurrent import make_core
from jaxcraft.nets.spatial import SPATIAL_FUSIONS, SpatialGoalFusion, goal_code_width, pool_mask

_ORTHO = nn.initializers.orthogonal
FUSIONS = ("late", "conv") + SPATIAL_FUSIONS


def small_net_config(**overrides: Any) -> NetConfig:
    """CPU-sized preset (2 cores, 32–64 px frames): tests, debugging, laptop-scale runs."""
    base = NetConfig(kind="goal_cnn", channels=(16, 32, 32), hidden=(128,), core_size=128,
                     activation="relu", separate_critic=False, core_memory=16, core_layers=1, core_heads=4)
    return dataclasses.replace(base, **overrides)


def large_net_config(**overrides: Any) -> NetConfig:
    """Accelerator preset (GPU/TPU, 64 px+): the configuration meant for real training runs."""
    base = NetConfig(kind="goal_cnn", channels=(32, 64, 128, 128), hidden=(512,), core_size=512,
                     activation="relu", separate_critic=False, core_memory=128, core_layers=4, core_heads=8)
    return dataclasses.replace(base, **overrides)


class _ConvTorso(nn.Module):
    """[B, H, W, C] float → [B, F]: 3×3 stride-2 convs (each halves H and W; cheap on CPU).

    `first_stride=1` makes the first layer a stride-1 conv (full resolution: a 1–2-pixel target
    is not averaged away before the second layer, at ~4× the first layer's cost and a 2× wider map).

    With `cond` [B, D], each layer's pre-activation h is FiLMed per channel:
    h·(1 + γ(cond)) + β(cond), γ and β linear in cond and zero at init.
    """

    channels: Sequence[int]
    act: str
    flatten: bool = True    # False: the last layer's map [B, h, w, C]
    first_stride: int = 2

    @nn.compact
    def __call__(self, x, cond=None):
        for i, c in enumerate(self.channels):
            # nn.Conv's params under nn.Conv's name; gradients as matmuls (fast on XLA:CPU).
            stride = self.first_stride if i == 0 else 2
            x = StridedConv3x3(c, kernel_init=_ORTHO(np.sqrt(2)), stride=stride, name=f"Conv_{i}")(x)
            if cond is not None:
                gamma, beta = jnp.split(nn.Dense(2 * c, kernel_init=nn.initializers.zeros)(cond), 2, axis=-1)
                x = x * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]
            x = activation(self.act)(x)
        return x.reshape(x.shape[0], -1) if self.flatten else x


class GoalConditionedActorCritic(nn.Module):
    """Policy/value net conditioned on a cross-view goal; see the module docstring for shapes.

    `hidden[0]` is the width of the frame/goal codes; `hidden` are the trunk's Dense sizes.
    Actor and critic share the torso (the critic needs the goal too; one trunk halves the cost)
    unless `separate_critic`: then the value comes from a second, feed-forward copy of the
    torso (`critic`, its own frame/goal encoders and trunk), so value gradients never touch the
    policy's params — a fresh critic can be fitted to a cloned policy without changing it.
    `value_stop_gradient` is the free version: one torso, but the value head reads its
    features through `stop_gradient`, so value gradients reach only the head.
    """

    num_logits: int
    channels: Sequence[int] = (16, 32, 32)
    hidden: Sequence[int] = (128,)
    core_size: int = 0
    act: str = "relu"
    aux_heads: bool = False
    fusion: str = "late"        # "late": FiLM on the codes; "conv": also FiLM every frame conv layer;
                                # "corr" / "attention": a heat map of the target (jaxcraft.nets.spatial)
    goal_tokens: int = 0        # attention: cells of the goal map (fixes the goal code's size)
    spatial_dim: int = 32       # corr / attention: query/key width D
    spatial_layers: int = 0     # corr / attention: conv layers before the heat map; 0 = all but the last
    privileged_dim: int = 0     # > 0: the value also reads obs["privileged"] [L, N, privileged_dim] (zeros where absent)
    num_families: int = len(FAMILIES)   # the family table's (bridge.crossview); registration passes the space's
    family_dim: int = 32
    goal_table: int = 0         # distinct goals encoded per call above this many samples; 0 = never dedupe
    separate_critic: bool = False  # the value head reads its own torso (see the class doc)
    value_bins: int = 0         # > 0: value logits over this many bins (ppo value_head="hl_gauss")
    value_stop_gradient: bool = False  # shared torso: the value head reads stop_gradient(features)
    core_kind: str = "gru"      # "gru" | "trxl" (jaxcraft.nets.recurrent.make_core); core_size is its width
    core_memory: int = 32       # trxl: cached steps (the attention window)
    core_layers: int = 2        # trxl: blocks
    core_heads: int = 4         # trxl: attention heads
    bearing_head: bool = False  # a head on the policy's features: the target's (sin β, cos β) and visibility logit
    first_stride: int = 2       # 1: the frame and goal torsos' first conv keeps full resolution

    def setup(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.first_stride not in (1, 2):
            raise ValueError(f"first_stride must be 1 or 2, got {self.first_stride!r}")
        s1 = self.first_stride
        width = self.hidden[0]
        if self.spatial:
            k = self.map_layers
            if not 1 <= k < len(self.channels):
                raise ValueError(f"fusion={self.fusion!r} makes its map after map_layers={k} of the conv layers "
                                 f"channels={tuple(self.channels)}: needs 1 <= map_layers < {len(self.channels)} "
                                 "(>= 2 conv layers)")
            # Frame and goal torsos stop after k layers; the heat map is made there, then the other
            # layers read the frame map with the heat as one more channel.
            self.frame_enc = _ConvTorso(self.channels[:k], self.act, flatten=False, first_stride=s1)
            self.goal_enc = _ConvTorso(self.channels[:k], self.act, flatten=False, first_stride=s1)
            self.frame_head = _ConvTorso(self.channels[k:], self.act)
            self.goal_head = _ConvTorso(self.channels[k:], self.act)
            self.where = SpatialGoalFusion(kind=self.fusion, width=self.channels[k - 1], dim=self.spatial_dim,
                                           tokens=self.goal_tokens)
        else:
            self.frame_enc = _ConvTorso(self.channels, self.act, first_stride=s1)
            self.goal_enc = _ConvTorso(self.channels, self.act, first_stride=s1)
        self.family_embed = nn.Embed(self.num_families, self.family_dim)
        self.frame_proj = nn.Dense(width, kernel_init=_ORTHO(np.sqrt(2)))
        self.goal_proj = nn.Dense(width, kernel_init=_ORTHO(np.sqrt(2)))
        # Zero-init FiLM: modulation starts as the identity, so early training is not at the
        # mercy of a random multiplicative gate; gradients still reach the kernel.
        self.film = nn.Dense(2 * width, kernel_init=nn.initializers.zeros)
        self.trunk = [nn.Dense(h, kernel_init=_ORTHO(np.sqrt(2))) for h in self.hidden]
        if self.core_size:
            self.core = self._make_core()
        self.policy_head = nn.Dense(self.num_logits, kernel_init=_ORTHO(0.01), bias_init=nn.initializers.zeros)
        if self.separate_critic:
            self.critic = GoalConditionedActorCritic(
                num_logits=1, channels=self.channels, hidden=self.hidden, act=self.act, fusion=self.fusion,
                num_families=self.num_families, family_dim=self.family_dim, goal_table=self.goal_table,
                value_bins=self.value_bins, goal_tokens=self.goal_tokens, spatial_dim=self.spatial_dim,
                spatial_layers=self.spatial_layers, privileged_dim=self.privileged_dim, first_stride=self.first_stride)
        else:
            self.value_head = nn.Dense(self.value_bins or 1, kernel_init=_ORTHO(1.0), bias_init=nn.initializers.zeros)
            if self.privileged_dim:
                self.privileged_proj = nn.Dense(self.hidden[0], kernel_init=_ORTHO(np.sqrt(2)))
        if self.bearing_head:   # trained during RL against the privileged observation (ppo.aux_coef)
            self.bearing = nn.Dense(3, kernel_init=_ORTHO(0.01), bias_init=nn.initializers.zeros)
        if self.aux_heads and not self.spatial:   # spatial fusions read visibility and centroid off the heat map
            self.visible_head = nn.Dense(1, kernel_init=_ORTHO(0.01), bias_init=nn.initializers.zeros)
            self.centroid_head = nn.Dense(2, kernel_init=_ORTHO(0.01), bias_init=nn.initializers.zeros)

    def _make_core(self, **module_kwargs) -> nn.Module:
        return make_core(self.core_kind, self.core_size, self.core_memory, self.core_layers, self.core_heads, **module_kwargs)

    def initial_carry(self, batch_size: int) -> Any:
        return self._make_core(parent=None).initial_carry(batch_size) if self.core_size else ()

    @property
    def recurrent(self) -> bool:
        """The carry holds memory (a core): `jaxcraft.ppo.Network`."""
        return bool(self.core_size)

    @property
    def value_only_modules(self) -> tuple[str, ...]:
        """Top-level param modules only the value reads: with a privileged critic, params cloned
        without one load with these fresh (`train.imitation.pretrain.load_params`)."""
        if not self.privileged_dim:
            return ()
        return ("critic",) if self.separate_critic else ("value_head", "privileged_proj")

    @property
    def fresh_on_load(self) -> tuple[str, ...]:
        """Top-level param modules that params cloned without them load fresh: the value-only
        ones and the RL-only bearing head (`train.imitation.pretrain.load_params`)."""
        return self.value_only_modules + (("bearing",) if self.bearing_head else ())

    @property
    def spatial(self) -> bool:
        return self.fusion in SPATIAL_FUSIONS

    @property
    def map_layers(self) -> int:
        """Conv layers before a spatial fusion's heat map (each halves the frame: 32 px, 2 layers → 8 × 8)."""
        return self.spatial_layers or len(self.channels) - 1

    # The perception encoder: every module up to the trunk's input (with FiLM on the conv layers the
    # goal conditions the frame torso, so the goal torso, FiLM and the projections all belong to it).
    # A frozen encoder (ppo.freeze_encoder) trains only the rest (`decide`: trunk, core, heads).
    @property
    def encoder_modules(self) -> tuple[str, ...]:
        spatial = ("frame_head", "goal_head", "where") if self.spatial else ()
        return ("frame_enc", "goal_enc", "family_embed", "frame_proj", "goal_proj", "film") + spatial

    def encode(self, obs) -> jax.Array:
        """Features [L, N, F] of obs leaves [L, N, ...]: the trunk's input, then (with a privileged
        critic) the value-only `privileged` observation, zeros where absent (`apply(..., method="encode")`)."""
        L, N = obs[X.FAMILY].shape
        x = self._encode(obs, L, N)[0].reshape(L, N, -1)
        if self.privileged_dim:
            x = jnp.concatenate([x, self._privileged(obs, (L, N))], axis=-1)
        return x

    def _privileged(self, obs, lead) -> jax.Array:
        """obs["privileged"] as float32 [*lead, privileged_dim]; zeros where an env lacks it (Minetest, bridged)."""
        p = obs.get(X.PRIVILEGED)
        return jnp.zeros(tuple(lead) + (self.privileged_dim,), jnp.float32) if p is None else p.astype(jnp.float32)

    def decide(self, carry, features, reset):
        """`__call__` on features [L, N, F] from `encode`: (carry, logits, value) (`method="decide"`).

        The value must read features only: no separate critic (its own torso reads observations)."""
        if self.separate_critic:
            raise ValueError("goal_cnn.decide: a separate critic reads observations, not features")
        carry, feat, privileged = self._decide_features(carry, features, reset)
        return carry, self.policy_head(feat), self._value(feat, privileged, reset)

    def decide_with_bearing(self, carry, features, reset):
        """`decide` plus the bearing head's output [L, N, 3] (`method="decide_with_bearing"`)."""
        carry, feat, privileged = self._decide_features(carry, features, reset)
        return carry, self.policy_head(feat), self._value(feat, privileged, reset), self._bearing(feat)

    def _decide_features(self, carry, features, reset):
        """features [L, N, F] → (carry, the heads' input [L, N, H], {"privileged": the value-only tail} or {})."""
        L, N = reset.shape
        chex.assert_shape(features, (L, N, None))
        privileged = {}
        if self.privileged_dim:   # the policy's trunk never sees the value-only tail
            features, privileged = features[..., :-self.privileged_dim], {X.PRIVILEGED: features[..., -self.privileged_dim:]}
        carry, feat = self._decide(carry, features.reshape(L * N, -1), L, N, reset)
        return carry, feat, privileged

    def _bearing(self, feat):
        if not self.bearing_head:
            raise ValueError("goal_cnn has no bearing head: set net.goal.bearing_head=true")
        return self.bearing(feat)

    def _features(self, carry, obs, reset):
        """carry [N, core_size] or (), obs leaves [L, N, ...], reset [L, N]
        → (carry, feat [L, N, F], heat logits [L, N, h, w] (spatial fusions) or None)."""
        L, N = reset.shape
        x, heat = self._encode(obs, L, N)
        carry, x = self._decide(carry, x, L, N, reset)
        return carry, x, heat

    def _decide(self, carry, x, L, N, reset):
        """Trunk input [L·N, F] → (carry, trunk output [L, N, H], or [core output; trunk output] [L, N, C + H] with a core)."""
        act = activation(self.act)
        for dense in self.trunk:
            x = act(dense(x))
        x = x.reshape(L, N, -1)
        if self.core_size:
            # The heads read the core's output beside its input (a skip around the core). With the
            # GRU's bounded output as their only input, cloning's first large gradients (fitting
            # the near-deterministic action factors) saturate it — |h| → 1 for every input, so
            # tanh' ≈ 0 stops every gradient below — and the policy collapses to the action
            # marginals (docs/tasks.md, "Memory"); the unbounded skip path fits the marginals and
            # the reactive part, and the core is left to carry what the frame no longer shows.
            carry, y = self.core(carry, x, reset)
            x = jnp.concatenate([y, x], axis=-1)
        return carry, x

    def _encode(self, obs, L, N):
        """obs leaves [L, N, ...] → (trunk input [L·N, F], heat logits [L, N, h, w] or None)."""
        chex.assert_shape(obs[X.FAMILY], (L, N))
        chex.assert_rank([obs[X.RGB], obs[X.GOAL_RGB], obs[X.GOAL_MASK]], [5, 5, 4])
        flat = lambda x: x.reshape((L * N,) + x.shape[2:])  # noqa: E731 — time and batch fold into one conv batch
        act = activation(self.act)
        if "goal_code" in obs:   # the episode's cached code (`goal_code`): skips the goal torso
            chex.assert_shape(obs["goal_code"], (L, N, self.goal_code_size))
            g = flat(obs["goal_code"])
        else:
            g = self._goal_codes(flat(obs[X.GOAL_RGB]), flat(obs[X.GOAL_MASK]), flat(obs[X.FAMILY]))
        heat, where = None, []
        if self.spatial:
            g, g_where = g[:, :self.hidden[0]], g[:, self.hidden[0]:]
            fused, heat = self.where(self.frame_enc(as_float(flat(obs[X.RGB]))), g_where)
            f = act(self.frame_proj(self.frame_head(jnp.concatenate([fused, nn.sigmoid(heat)[..., None]], -1))))
            aux = self.where.aux(heat)
            # The policy reads where the target is directly: the heat map, its soft-argmax, its visibility.
            where = [nn.sigmoid(heat).reshape(L * N, -1), aux["centroid"], nn.sigmoid(aux["visible_logit"])[:, None]]
            heat = heat.reshape((L, N) + heat.shape[1:])
        else:
            cond = g if self.fusion == "conv" else None
            f = act(self.frame_proj(self.frame_enc(as_float(flat(obs[X.RGB])), cond)))
        gamma, beta = jnp.split(self.film(g), 2, axis=-1)
        return jnp.concatenate([f * (1.0 + gamma) + beta, g] + where, axis=-1), heat

    @property
    def goal_code_size(self) -> int:
        """Width of the goal code that `goal_code` returns."""
        return goal_code_width(self.fusion, self.hidden[0], self.spatial_dim, self.goal_tokens)

    def goal_code(self, obs) -> jax.Array:
        """Goal code [B, goal_code_size] of obs leaves [B, ...] (`apply(..., method="goal_code")`).

        The goal is constant within an episode, so acting encodes it once per episode and passes
        it back as `obs["goal_code"]` [L, N, goal_code_size]: the net then skips the goal torso
        (its outputs equal the uncached call's). The separate critic still encodes its own goal.
        """
        return self._encode_goals(obs[X.GOAL_RGB], obs[X.GOAL_MASK], obs[X.FAMILY])

    def _encode_goals(self, goal_rgb, goal_mask, family):
        """[M, H, W, 3], [M, H, W], [M] → goal codes [M, width]."""
        mask = (goal_mask > 0).astype(jnp.float32)[..., None]  # {0,1} whether stored as 0/1 or 0/255
        goal_in = jnp.concatenate([as_float(goal_rgb), mask], axis=-1)
        fam = self.family_embed(family)
        if not self.spatial:
            return activation(self.act)(self.goal_proj(jnp.concatenate([self.goal_enc(goal_in), fam], -1)))
        gmap = self.goal_enc(goal_in)
        g = activation(self.act)(self.goal_proj(jnp.concatenate([self.goal_head(gmap), fam], -1)))
        return jnp.concatenate([g, self.where.encode_goal(gmap, pool_mask(mask[..., 0], *gmap.shape[1:3]), fam)], -1)

    def _goal_codes(self, goal_rgb, goal_mask, family):
        """Goal codes [M, width], the torso run once per distinct goal (see the module doc)."""
        m, size = family.shape[0], self.goal_table
        if not size or m <= size or self.is_initializing():
            return self._encode_goals(goal_rgb, goal_mask, family)
        content = jnp.concatenate([goal_rgb.reshape(m, -1), goal_mask.reshape(m, -1).astype(goal_rgb.dtype)], -1)
        key = goal_content_hash(content, family)
        _, first, inverse = jnp.unique(key, size=size, fill_value=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(m)
        rep = first[jnp.minimum(inverse, size - 1)]                      # representative sample of each sample's goal
        exact = jnp.all(inverse < size) & jnp.all(content[rep] == content) & jnp.all(family[rep] == family)

        def table(mdl, goal_rgb, goal_mask, family):
            return mdl._encode_goals(goal_rgb[first], goal_mask[first], family[first])[jnp.minimum(inverse, size - 1)]

        def every(mdl, goal_rgb, goal_mask, family):
            return mdl._encode_goals(goal_rgb, goal_mask, family)

        return nn.cond(exact, table, every, self, goal_rgb, goal_mask, family)

    def _aux_from(self, feat, heat) -> dict:
        if heat is not None:
            return self.where.aux(heat)
        # Sigmoid keeps the centroid inside the normalised image square [0, 1]².
        return {"visible_logit": self.visible_head(feat)[..., 0], "centroid": nn.sigmoid(self.centroid_head(feat))}

    def _value(self, feat, obs, reset):
        if self.separate_critic:   # its own goal torso: the policy's cached code is not its code
            return self.critic((), {k: v for k, v in obs.items() if k != "goal_code"}, reset)[2]
        # Detached: the value loss trains only the head, so a cloned policy's torso stays as cloned.
        x = jax.lax.stop_gradient(feat) if self.value_stop_gradient else feat
        if self.privileged_dim:   # the value-only input (envs.spaces.VALUE_ONLY_KEYS); zeros where an env lacks it
            x = jnp.concatenate([x, activation(self.act)(self.privileged_proj(self._privileged(obs, feat.shape[:-1])))],
                                axis=-1)
        v = self.value_head(x)
        return v if self.value_bins else v[..., 0]

    def __call__(self, carry, obs, reset):
        """→ (carry, logits [L, N, num_logits], value [L, N] (or value logits [L, N, value_bins]))."""
        carry, feat, heat = self._features(carry, obs, reset)
        if self.aux_heads and self.is_initializing():
            self._aux_from(feat, heat)  # create the aux params at init only; PPO never pays for them
        if self.bearing_head and self.is_initializing():
            self._bearing(feat)
        return carry, self.policy_head(feat), self._value(feat, obs, reset)

    def with_bearing(self, carry, obs, reset):
        """→ (carry, logits, value, bearing head [L, N, 3]): (sin β, cos β) of the target's bearing
        and its visibility logit, from the policy's features (one pass of the torso)."""
        carry, feat, _ = self._features(carry, obs, reset)
        return carry, self.policy_head(feat), self._value(feat, obs, reset), self._bearing(feat)

    def aux(self, carry, obs, reset) -> dict:
        """→ {"visible_logit": [L, N], "centroid": [L, N, 2] (row, col) in [0, 1]²} (+ "target_map"
        [L, N, h, w], the heat logits, with a spatial fusion)."""
        return self.with_aux(carry, obs, reset)[3]

    def with_aux(self, carry, obs, reset):
        """→ (carry, logits, value, aux dict): `__call__` and `aux` from one pass of the torso."""
        if not (self.aux_heads or self.spatial):
            raise ValueError("GoalConditionedActorCritic.aux needs aux_heads=True or a spatial fusion")
        carry, feat, heat = self._features(carry, obs, reset)
        return carry, self.policy_head(feat), self._value(feat, obs, reset), self._aux_from(feat, heat)


def goal_content_hash(content: jax.Array, family: jax.Array) -> jax.Array:
    """int32 [M] hash of uint8/int content [M, D] and family [M]: Σ_d x_d·w_d (mod 2³²), w fixed odd.

    Equal goals get equal hashes; unequal goals collide with probability ~2⁻³² (and the
    caller verifies equality, so a collision only costs the fallback).
    """
    w = jnp.asarray(np.random.default_rng(12345).integers(1, 2**31, content.shape[1]) * 2 + 1, jnp.uint32)
    h = jnp.sum(content.astype(jnp.uint32) * w[None, :], axis=1, dtype=jnp.uint32)
    h = h + family.astype(jnp.uint32) * jnp.uint32(2654435761)
    return jax.lax.bitcast_convert_type(h, jnp.int32)


def bearing_loss(pred: jax.Array, privileged: jax.Array) -> tuple[jax.Array, dict]:
    """The bearing head [L, N, 3] against the privileged observation [L, N, 7]
    (`tasks.env.privileged_observation`: [d/32, sin β, cos β, sin ε, cos ε, visible, time left]):

        ½ ‖(ŝ, ĉ) − (sin β, cos β)‖² + BCE(σ(v̂), visible)

    averaged over steps; metrics: the two terms and how often sign(ŝ) is the target's side."""
    chex.assert_shape(pred, privileged.shape[:-1] + (3,))
    target = privileged[..., 1:3]
    se = 0.5 * jnp.mean(jnp.sum((pred[..., :2] - target) ** 2, axis=-1))
    visible = privileged[..., 5]
    bce = jnp.mean(optax.sigmoid_binary_cross_entropy(pred[..., 2], visible))
    side = jnp.mean((jnp.sign(pred[..., 0]) == jnp.sign(target[..., 0])).astype(jnp.float32))
    return se + bce, {"aux/bearing_se": se, "aux/visible_bce": bce, "aux/bearing_side_acc": side}


def aux_loss(pred: dict, visible: jax.Array, centroid: jax.Array) -> tuple[jax.Array, dict]:
    """Visibility BCE plus centroid squared error where the target is visible.

    With z = pred["visible_logit"], v = visible ∈ {0, 1}, ĉ = pred["centroid"], c = centroid,
    all over the M = L·N entries:

        BCE  = (1/M) Σ [softplus(z) − v·z]              (= −v log σ(z) − (1−v) log(1−σ(z)))
        SE   = Σ v·‖ĉ − c‖² / max(1, Σ v)               (invisible targets have no centroid)
        loss = BCE + SE

    Shapes: visible bool[L, N], centroid float[L, N, 2]; returns (scalar, metrics dict).
    """
    z, c_hat = pred["visible_logit"], pred["centroid"]
    chex.assert_rank(visible, 2)
    chex.assert_type(visible, bool)
    chex.assert_shape(z, visible.shape)
    chex.assert_shape([c_hat, centroid], visible.shape + (2,))
    v = visible.astype(jnp.float32)
    bce = jnp.mean(jnp.logaddexp(0.0, z) - v * z)  # stable softplus
    n_vis = v.sum()
    se = jnp.sum(v * jnp.sum((c_hat - centroid) ** 2, axis=-1)) / jnp.maximum(n_vis, 1.0)
    acc = jnp.mean((z > 0) == visible)
    return bce + se, {"aux/visible_bce": bce, "aux/centroid_se": se, "aux/visible_acc": acc,
                      "aux/visible_frac": n_vis / v.size}
