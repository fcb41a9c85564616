"""Student perception diagnosis: the table and summary against hand-derived numbers; the rollout
against an independent step-by-step replay (the env, the servo and the aux heads called directly
on every replayed state, greedy actions of the same net)."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.eval.diagnose import (PerceptionTrace, episode_summary, format_report, format_teacher_state_table,
                                   perception_rollout, perception_table, teacher_state_table)
from jaxcraft.nets import GoalConditionedActorCritic
from jaxcraft.ppo import multi_discrete
from jaxcraft.tasks import TaskConfig, encode_task_id, make_task_env
from jaxcraft.tasks import families as F
from jaxcraft.tasks.servo import servo_act, servo_init
from jaxcraft.world import actions as A

NOOP = A.NOOP_CAMERA_BIN


def hand_trace():
    # Two episodes of four steps; episode 1 ends after step 2 (its step 3 is not alive).
    f = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return PerceptionTrace(
        alive=np.array([[1, 1, 1, 1], [1, 1, 1, 0]], bool),
        distance=f([[3, 7, 7, 12], [4, 8, 20, 1]]),
        visible=np.array([[0, 1, 1, 1], [1, 0, 1, 1]], bool),
        centroid=f([[[0, 0], [0.5, 0.5], [0.25, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0, 0], [0.5, 0.75], [0, 0]]]),
        aux_visible=f([[0.9, 0.8, 0.2, 0.7], [0.6, 0.1, 0.9, 0.9]]),
        aux_centroid=f([[[0, 0], [0.5, 0.75], [0.25, 0.5], [0.5, 1.0]], [[0.5, 0.0], [0, 0], [0.5, 0.75], [0, 0]]]),
        yaw=np.array([[NOOP + 1, NOOP - 2, NOOP, NOOP + 3], [NOOP, NOOP + 1, NOOP - 1, NOOP]], np.int32),
        servo_yaw=np.array([[NOOP + 4, NOOP + 1, NOOP, NOOP + 1], [NOOP + 2, NOOP + 1, NOOP - 3, NOOP]], np.int32),
        success=np.array([[0, 0, 0, 0], [0, 0, 1, 0]], bool))


def test_table_and_summary_match_hand_counts():
    rows = {r["distance"]: r for r in perception_table(hand_trace(), frame_size=16, bins=((0, 5), (5, 10), (10, 25)))}
    # Bin 0–5: ep0 t0 (invisible, pred 1), ep1 t0 (visible, pred 1, error 0.5·16 = 8 px); ep1 t3 is dead.
    r = rows["0–5"]
    assert r["steps"] == 2 and r["in_view"] == 0.5 and r["aux_recall"] == 1.0 and r["aux_precision"] == 0.5
    assert r["centroid_error_px"] == 8.0
    assert r["turn_agree_in_view"] == 0.0 and r["turn_agree_out_of_view"] == 1.0   # none vs right; right vs right
    assert r["turn_agree_in_view_coarse"] == 0.0     # ep1 t0: the servo turns 2 bins right, the student not
    assert r["keeps_in_view"] == 0.0                 # ep1 t0 in view, t1 not
    # Bin 5–10: ep0 t1 (vis, pred, err 4 px), ep0 t2 (vis, not pred, err 0), ep1 t1 (invisible, not pred).
    r = rows["5–10"]
    assert r["steps"] == 3 and np.isclose(r["in_view"], 2 / 3) and r["aux_recall"] == 0.5 and r["aux_precision"] == 1.0
    assert r["centroid_error_px"] == 2.0                                           # median of 4 and 0
    assert r["turn_agree_in_view"] == 0.5 and r["turn_agree_out_of_view"] == 1.0
    assert np.isnan(r["turn_agree_in_view_coarse"])  # the servo turns by one bin or none here
    assert r["keeps_in_view"] == 1.0                 # ep0 t1 → t2 and t2 → t3 stay in view
    # Bin 10–25: ep0 t3 (vis, pred, err 8 px, right/right), ep1 t2 (vis, pred, err 0, left/left).
    r = rows["10–25"]
    assert r["steps"] == 2 and r["in_view"] == 1.0 and r["aux_recall"] == 1.0 and r["centroid_error_px"] == 4.0
    assert r["turn_agree_in_view"] == 1.0 and np.isnan(r["turn_agree_out_of_view"])
    assert r["turn_agree_in_view_coarse"] == 1.0     # ep1 t2: 3 bins left, the student left
    assert np.isnan(r["keeps_in_view"])              # ep0 t3 is the last step, ep1 t3 is dead
    assert rows["all"]["steps"] == 7 and np.isclose(rows["all"]["in_view"], 5 / 7)
    assert rows["all"]["turn_agree_in_view_coarse"] == 0.5 and np.isclose(rows["all"]["keeps_in_view"], 2 / 3)
    s = episode_summary(hand_trace())
    assert s == {"episodes": 2, "success": 0.5, "target_seen": 1.0, "first_seen_median_step": 0.5,
                 "success_when_seen": 0.5}
    md = format_report(list(rows.values()), s)
    assert "| 0–5 | 2 | 50.0 % | 100.0 % | 50.0 % | 8.0 | 0.0 % | 100.0 % | 0.0 % | 0.0 % |" in md and "success 50.0 %" in md


def test_rollout_equals_a_step_by_step_replay():
    env, params = make_task_env(TaskConfig(frame_size=16, world_size=24, world_height=16, num_distractors=1,
                                           families=("approach",), distances=(20,)))
    nvec = tuple(int(x) for x in env.action_space(params).nvec)
    dist = multi_discrete(nvec)
    net = GoalConditionedActorCritic(num_logits=sum(nvec), channels=(4,), hidden=(8,), aux_heads=True)
    ids = jnp.asarray([int(encode_task_id(s, 0, F.APPROACH)) for s in (5, 6)], jnp.int32)
    obs_shapes = jax.eval_shape(jax.vmap(lambda i: env.reset_to_task(i, params)), ids)[0]
    weights = net.init(jax.random.key(0), (), jax.tree.map(lambda s: jnp.zeros((1,) + s.shape, s.dtype), obs_shapes),
                       jnp.zeros((1, 2), bool))
    weights = jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.key(1), x.shape), weights)  # turn often
    T, key = 4, jax.random.key(9)
    trace = perception_rollout(env, params, net, weights, dist, ids, T, key, True)
    assert trace.yaw.shape == (2, T) and trace.centroid.shape == (2, T, 2)

    @jax.jit
    def replay_step(state, obs, t):
        """The rollout's step written out: greedy action, servo label, truth, aux, env step."""
        _, logits, _, aux = net.apply(weights, (), jax.tree.map(lambda a: a[None], obs), jnp.full((1, 2), t == 0),
                                      method="with_aux")
        action = dist.mode(logits[0]).astype(jnp.int32)
        servo = jax.vmap(lambda s: servo_act(env, params, s, servo_init(env, s), None)[1])(state)
        k_env = jax.random.split(jax.random.fold_in(key, t))[1]
        obs, state, _, term, trunc, info = jax.vmap(lambda k, s, a: env.step_env(k, s, a, params))(
            jax.random.split(k_env, 2), state, action)
        return state, obs, action, servo, aux, info, term | trunc

    obs, state = jax.jit(jax.vmap(lambda i: env.reset_to_task(i, params)))(ids)
    alive = np.ones(2, bool)
    for t in range(T):
        distance = np.asarray(state.task.prev_distance)
        state, obs, action, servo, aux, info, done = replay_step(state, obs, t)
        np.testing.assert_array_equal(trace.alive[:, t], alive)
        np.testing.assert_allclose(trace.distance[:, t], distance, rtol=1e-6)
        np.testing.assert_array_equal(trace.yaw[:, t], action[:, A.NAMES.index("camera_yaw")])
        np.testing.assert_array_equal(trace.servo_yaw[:, t], servo[:, A.NAMES.index("camera_yaw")])
        np.testing.assert_allclose(trace.aux_visible[:, t], jax.nn.sigmoid(aux["visible_logit"][0]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(trace.aux_centroid[:, t], aux["centroid"][0], rtol=1e-5, atol=1e-6)
        if t + 1 < T:   # the truth the student sees at t + 1 is the env's info after step t
            np.testing.assert_array_equal(trace.visible[:, t + 1], info["target_visible"])
            np.testing.assert_allclose(trace.centroid[:, t + 1], info["target_centroid"], atol=1e-6)
        alive = alive & ~np.asarray(done)


def test_teacher_state_table_matches_hand_counts():
    # Five steps, 11 yaw bins (no-op 5): a left turn of 2 bins, a hold (+1), a right turn of 4 (the
    # search bin), the same right turn out of view, and a hold out of view.
    probs = np.zeros((5, 11))
    probs[0, [0, 5, 9]] = [0.5, 0.3, 0.2]          # likeliest left  (teacher left)  → match
    probs[1, [4, 6, 9]] = [0.3, 0.3, 0.4]          # left .3, right .7 (teacher holds) → no match
    probs[2, [5, 9]] = [0.6, 0.4]                  # likeliest none  (teacher right) → no match
    probs[3, 9] = 1.0                              # out of view, right vs right
    probs[4, 5] = 1.0                              # out of view, none vs none
    teacher = np.array([NOOP - 2, NOOP + 1, NOOP + 4, NOOP + 4, NOOP])
    visible = np.array([1, 1, 1, 0, 0], bool)
    rows = teacher_state_table(probs, teacher, visible)
    assert [r["steps"] for r in rows] == [1, 1, 1, 2]
    assert (rows[0]["p_left"], rows[0]["p_none"], rows[0]["p_right"], rows[0]["direction_match"]) == (0.5, 0.3, 0.2, 1.0)
    assert np.isclose(rows[1]["p_right"], 0.7) and rows[1]["direction_match"] == 0.0
    assert rows[2]["p_none"] == 0.6 and rows[2]["direction_match"] == 0.0
    assert rows[3]["p_right"] == 0.5 and rows[3]["p_none"] == 0.5 and rows[3]["direction_match"] == 1.0
    md = format_teacher_state_table(rows)
    assert "| in view, teacher turns left ≥ 1.6° | 1 | 0.50 | 0.30 | 0.20 | 100.0 % |" in md
