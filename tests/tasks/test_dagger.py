"""DAgger relabelling: the recorded label is the servo teacher's action on the student's state.

Oracle: an independent replay of the executed (student) actions from `reset_to_task` with the
episode's env keys, calling `servo_act` on every replayed state and sampling the student's own
logits there with the student's key (`fold_in(teacher key, 2)`).
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.nets import GoalConditionedActorCritic
from jaxcraft.ppo import Acting, multi_discrete
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
    out = dagger_rollout(ENV, PARAMS, Acting(net.apply, dist), params, ids, seed, T, "servo", 0.0)
    label, executed = np.asarray(out["action"]), np.asarray(out["executed"])
    assert label.shape == executed.shape == (2, T, 11)
    assert (label != executed).any()  # the near-uniform student does not act like the teacher

    @jax.jit
    def replay(executed):

        def step(c, t):
            state, obs = c
            k_teacher, k_env = jax.vmap(lambda i: step_keys(seed, i, t))(ids)
            label = jax.vmap(lambda s, k: servo_act(ENV, PARAMS, s, servo_init(ENV, s), k)[1])(state, k_teacher)
            _, logits, _ = net.apply(params, (), jax.tree.map(lambda x: x[None], obs), jnp.zeros((1, 2), bool))
            student = jax.vmap(dist.sample)(jax.vmap(lambda k: jax.random.fold_in(k, 2))(k_teacher), logits[0])
            obs, state, *_ = jax.vmap(lambda k, s, a: ENV.step_env(k, s, a, PARAMS))(k_env, state, executed[:, t])
            return (state, obs), (label, student)

        obs, state = jax.vmap(lambda i: ENV.reset_to_task(i, PARAMS))(ids)
        return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), jax.lax.scan(step, (state, obs), jnp.arange(T))[1])

    replayed_label, replayed_student = replay(out["executed"])
    np.testing.assert_array_equal(np.asarray(replayed_label), label)
    np.testing.assert_array_equal(np.asarray(replayed_student), executed)   # β = 0: the student's own samples
    eps = dagger_episodes(out)
    assert set(eps) == set(FIELDS) | set(OPTIONAL_FIELDS) and eps["action"].shape == (2, T, 11)
    # β = 1: the teacher drives, so executed and recorded actions coincide.
    teach = dagger_rollout(ENV, PARAMS, Acting(net.apply, dist), params, ids, seed, T, "servo", 1.0)
    np.testing.assert_array_equal(np.asarray(teach["executed"]), np.asarray(teach["action"]))
