"""Probes of a frozen encoder's features (`jaxcraft.eval.probe`).

Oracles: direction labels and recalls against hand-derived values; the linear probe against
synthetic data whose class is a known linear function of the features (it must recover it) and
against labels independent of the features (it must stay near chance on held-out points); the
dataset builder against a stub network whose features are a hand-computable function of the frame.
"""
import jax.numpy as jnp
import numpy as np

from jaxcraft.eval.probe import (HOLD, LEFT, RIGHT, centroid_direction, direction_recall, encoder_dataset,
                                 fit_linear_probe, turn_direction, yaw_direction)
from jaxcraft.world import actions as A

NOOP = A.NOOP_CAMERA_BIN


def test_direction_labels_match_hand_values():
    np.testing.assert_array_equal(turn_direction([NOOP - 2, NOOP - 1, NOOP, NOOP + 1, NOOP + 4, 0]),
                                  [LEFT, HOLD, HOLD, HOLD, RIGHT, LEFT])
    probs = np.zeros((3, 2 * NOOP + 1))
    probs[0, [0, 1, NOOP]] = [0.3, 0.3, 0.4]        # left 0.6 beats none 0.4
    probs[1, [NOOP, NOOP + 1]] = [0.6, 0.4]
    probs[2, [NOOP - 1, NOOP + 1, NOOP + 2]] = [0.4, 0.3, 0.3]
    np.testing.assert_array_equal(yaw_direction(probs), [LEFT, HOLD, RIGHT])
    # 48-px frame: 1.5 px right of centre, 0.9 px left (inside the 1-px dead zone), far left.
    cols = np.array([0.5, 0.5 + 1.5 / 48, 0.5 - 0.9 / 48, 0.1])
    np.testing.assert_array_equal(centroid_direction(cols, 48), [HOLD, RIGHT, HOLD, LEFT])
    np.testing.assert_array_equal(centroid_direction(cols, 48, dead_zone_px=0.5), [HOLD, RIGHT, LEFT, LEFT])


def test_direction_recall_matches_hand_counts():
    r = direction_recall(np.array([0, 1, 1, 2, 1]), np.array([0, 0, 1, 2, 2]))
    assert r["accuracy"] == 0.6 and r["recall"] == [0.5, 1.0, 0.5] and np.isclose(r["balanced"], 2 / 3)
    assert np.isnan(direction_recall(np.array([1]), np.array([1]))["recall"][0])


def test_linear_probe_recovers_a_linear_rule_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 6)).astype(np.float32) * [3, 1, 1, 1, 1, 1]
    y = np.where(x[:, 0] < -1.5, LEFT, np.where(x[:, 0] > 1.5, RIGHT, HOLD))
    predict = fit_linear_probe(x[:600], y[:600])
    assert direction_recall(predict(x[600:]), y[600:])["balanced"] > 0.9
    noise = rng.integers(0, 3, size=900)
    predict = fit_linear_probe(x[:600], noise[:600])
    assert direction_recall(predict(x[600:]), noise[600:])["balanced"] < 0.45


class _StubNet:
    """Features = the frame's mean red per step plus the family; logits put all yaw mass on one bin."""
    privileged_dim = 1

    def initial_carry(self, n):
        return ()

    def apply(self, params, *args, method=None):
        obs = args[0] if method == "encode" else args[1]
        red = obs["rgb"][..., 0].astype(jnp.float32).mean((-1, -2))                       # [L, N]
        if method == "encode":
            return jnp.stack([red, obs["family"].astype(jnp.float32), jnp.full_like(red, -7.0)], -1)
        logits = jnp.zeros(red.shape + (sum(A.NVEC),)).at[..., -1].set(50.0)              # always the last yaw bin
        return (), logits, jnp.zeros(red.shape)


def test_encoder_dataset_keeps_the_valid_in_view_steps_with_their_labels():
    E, T, H = 3, 4, 2
    rng = np.random.default_rng(1)
    demos = {"rgb": rng.integers(0, 255, size=(E, T, H, H, 3)).astype(np.uint8),
             "goal_rgb": np.zeros((E, H, H, 3), np.uint8), "goal_mask": np.zeros((E, H, H), np.uint8),
             "family": np.array([0, 1, 2], np.int32), "length": np.array([4, 2, 3], np.int32),
             "action": rng.integers(0, 11, size=(E, T, len(A.NVEC))).astype(np.int32),
             "target_visible": np.array([[1, 0, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1]], bool),
             "target_centroid": rng.uniform(size=(E, T, 2)).astype(np.float32)}
    d = encoder_dataset(_StubNet(), None, demos, chunk=2)
    # valid (step < length) and in view: ep 0 steps 0, 2, 3; ep 1 steps 0, 1; ep 2 step 2
    keep = [(0, 0), (0, 2), (0, 3), (1, 0), (1, 1), (2, 2)]
    np.testing.assert_array_equal(d["episode"], [e for e, _ in keep])
    red = np.array([demos["rgb"][e, t, ..., 0].mean() for e, t in keep], np.float32)
    np.testing.assert_allclose(d["features"], np.stack([red, [e for e, _ in keep]], -1), rtol=1e-6)   # tail dropped
    np.testing.assert_array_equal(d["teacher_yaw"], [demos["action"][e, t, -1] for e, t in keep])
    np.testing.assert_array_equal(d["centroid"], [demos["target_centroid"][e, t] for e, t in keep])
    np.testing.assert_array_equal(yaw_direction(d["probs"]), RIGHT)
