"""DAgger relabelling: the recorded label is the servo teacher's action on the student's state.

Oracle: an independent replay of the executed (student) actions from `reset_to_task` with the
episode's env keys, calling `servo_act` on every replayed state.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.nets import GoalConditionedActorCritic
from jaxcraft.ppo import multi_discrete
from jaxcraft.tasks import TaskConfig, encode_task_id, make_task_env
from jaxcraft.tasks import families as F
from jaxcraft.tasks.dagger import dagger_episodes, dagger_rollout
from jaxcraft.tasks.demos import FIELDS, OPTIONAL_FIELDS, step_keys
from jaxcraft.tasks.servo import servo_act, servo_init


CFG = TaskConfig(frame_size=16, world_size=32, distances=(20,))
ENV, PARAMS = make_task_env(CFG)
T = 4


def test_labels_are_the_teachers_action_on_the_students_states():
    nvec = tuple(int(x) for x in ENV.action_space(PARAMS).nvec)
    dist = multi_discrete(nvec)
    net = GoalConditionedActorCritic(num_logits=sum(nvec), channels=(4,), hidden=(8,))
    ids = jnp.asarray([int(encode_task_id(s, 0, F.APPROACH)) for s in (1, 2)], jnp.int32)
    obs = jax.eval_shape(jax.vmap(lambda i: ENV.reset_to_task(i, PARAMS)), ids)[0]   # shapes: no eager world
    params = net.init(jax.random.key(0), (), jax.tree.map(lambda s: jnp.zeros((1,) + s.shape, s.dtype), obs),
                      jnp.zeros((1, 2), bool))
    seed = jnp.asarray(7)
    out = dagger_rollout(ENV, PARAMS, net.apply, params, dist, ids, seed, T, "servo", 0.0)
    label, executed = np.asarray(out["action"]), np.asarray(out["executed"])
    assert label.shape == executed.shape == (2, T, 11)
    assert (label != executed).any()  # the near-uniform student does not act like the teacher

    @jax.jit
    def replay(executed):
        _, state = jax.vmap(lambda i: ENV.reset_to_task(i, PARAMS))(ids)

        def step(state, t):
            k_teacher, k_env = jax.vmap(lambda i: step_keys(seed, i, t))(ids)
            label = jax.vmap(lambda s, k: servo_act(ENV, PARAMS, s, servo_init(ENV, s), k)[1])(state, k_teacher)
            _, state, *_ = jax.vmap(lambda k, s, a: ENV.step_env(k, s, a, PARAMS))(k_env, state, executed[:, t])
            return state, label

        return jnp.swapaxes(jax.lax.scan(step, state, jnp.arange(T))[1], 0, 1)

    np.testing.assert_array_equal(np.asarray(replay(out["executed"])), label)
    eps = dagger_episodes(out)
    assert set(eps) == set(FIELDS) | set(OPTIONAL_FIELDS) and eps["action"].shape == (2, T, 11)
    # β = 1: the teacher drives, so executed and recorded actions coincide.
    teach = dagger_rollout(ENV, PARAMS, net.apply, params, dist, ids, seed, T, "servo", 1.0)
    np.testing.assert_array_equal(np.asarray(teach["executed"]), np.asarray(teach["action"]))
