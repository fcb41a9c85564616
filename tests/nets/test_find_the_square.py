"""A tiny synthetic "find the marked square" task that spatial goal fusion solves and FiLM does not.

The frame (16 × 16, dark noise) holds three 3 × 3 squares of three distinct colours from a
palette of six; the goal image shows one of those colours as a square at another random place,
with its mask (a cross-view goal in miniature). The label is the side of the frame the goal's
square is on (left/right). A net must match the goal's colour to one of the frame's squares and
read off where it is: what the student in the 3-D world has to do before it can steer. Seeded;
the same 300 Adam steps (batch 64, fresh samples) for every fusion; accuracy on 512 held-out
samples. Measured (Zen 5 EPYC): corr 95 %, attention 96 %, FiLM late 76 %, FiLM conv 85 %.
"""
import jax
import jax.numpy as jnp
import optax
import pytest

from jaxcraft.nets.goal import GoalConditionedActorCritic

H, SIZE, K = 16, 3, 3
PALETTE = jnp.asarray([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]],
                      jnp.float32)


def _square(img, colour, corner):
    rows, cols = jnp.arange(H)[:, None], jnp.arange(H)[None, :]
    inside = (rows >= corner[0]) & (rows < corner[0] + SIZE) & (cols >= corner[1]) & (cols < corner[1] + SIZE)
    return jnp.where(inside[..., None], PALETTE[colour], img), inside


def sample(key, n):
    """(obs [1, n, ...] in goal_cnn's contract, label int32[n]: 1 iff the goal's square is right of centre)."""
    k_col, k_pos, k_bg, k_gpos, k_gbg = jax.random.split(key, 5)
    colours = jax.vmap(lambda k: jax.random.permutation(k, len(PALETTE))[:K])(jax.random.split(k_col, n))
    corners = jax.random.randint(k_pos, (n, K, 2), 0, H - SIZE + 1)

    def frame(bg, cols, corners):
        for j in range(K):
            bg, _ = _square(bg, cols[j], corners[j])
        return bg

    rgb = jax.vmap(frame)(jax.random.uniform(k_bg, (n, H, H, 3)) * 60, colours, corners)
    goal, mask = jax.vmap(_square)(jax.random.uniform(k_gbg, (n, H, H, 3)) * 60, colours[:, 0],
                                   jax.random.randint(k_gpos, (n, 2), 0, H - SIZE + 1))
    label = (corners[:, 0, 1] + SIZE / 2 >= H / 2).astype(jnp.int32)
    obs = {"rgb": rgb.astype(jnp.uint8)[None], "goal_rgb": goal.astype(jnp.uint8)[None],
           "goal_mask": mask.astype(jnp.uint8)[None], "family": jnp.zeros((1, n), jnp.int32)}
    return obs, label


def accuracy_after_training(fusion, steps=300, batch=64, seed=0):
    net = GoalConditionedActorCritic(num_logits=2, channels=(8, 16), hidden=(32,), fusion=fusion, spatial_dim=16,
                                     goal_tokens=(H // 2) ** 2, num_families=1)
    params = net.init(jax.random.key(seed), (), sample(jax.random.key(99), 2)[0], jnp.zeros((1, 2), bool))
    opt = optax.adam(3e-3)

    def loss(params, obs, label):
        logits = net.apply(params, (), obs, jnp.zeros((1, label.shape[0]), bool))[1][0]
        return optax.softmax_cross_entropy_with_integer_labels(logits, label).mean()

    def step(carry, key):
        params, opt_state = carry
        grads = jax.grad(loss)(params, *sample(key, batch))
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    train = jax.jit(lambda params, key: jax.lax.scan(step, (params, opt.init(params)), jax.random.split(key, steps))[0][0])
    params = train(params, jax.random.key(seed + 1))
    obs, label = sample(jax.random.key(12345), 512)
    logits = jax.jit(net.apply)(params, (), obs, jnp.zeros((1, 512), bool))[1][0]
    return float((logits.argmax(-1) == label).mean())


@pytest.mark.slow
def test_spatial_fusion_solves_find_the_marked_square_and_film_does_not():
    # attention (96 % measured) is left out to keep the suite short: its invariances are unit-tested.
    acc = {f: accuracy_after_training(f) for f in ("corr", "late")}
    assert acc["corr"] >= 0.9, acc
    assert acc["late"] <= 0.85, acc
