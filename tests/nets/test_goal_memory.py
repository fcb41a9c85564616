"""A recurrent `goal_cnn` clones a task that needs memory; the feed-forward net cannot.

The toy task: each window shows a cue (the left or the right half of the frame bright) only at
its first step, grey frames after it, and the teacher turns towards the cued side at every step.
After the first step the frame says nothing, so a reactive policy is at chance there, and only a
net that carries the cue can match the teacher. Before the skip around the core (`_decide`), the
recurrent net collapsed to the action marginals on this task and even on its reactive version.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_network
from jaxcraft.config import GoalNetConfig, NetConfig
from jaxcraft.envs.spaces import action_distribution
from jaxcraft.tasks import TaskConfig, make_task_env
from jaxcraft.train.imitation.pretrain import ImitationConfig, pretrain, sample_windows
from jaxcraft.world import actions as A

H, E, T = 16, 64, 6


def cue_demos(seed=0):
    side = np.random.default_rng(seed).integers(0, 2, size=E)
    rgb = np.full((E, T, H, H, 3), 100, np.uint8)
    rgb[side == 1, 0, :, H // 2:] = 250
    rgb[side == 0, 0, :, :H // 2] = 250
    action = np.zeros((E, T, len(A.NVEC)), np.int32)
    action[..., -2] = A.NOOP_CAMERA_BIN
    action[..., -1] = np.where(side == 1, A.CAMERA_BINS - 1, 0)[:, None]
    return dict(rgb=rgb, action=action, length=np.full(E, T, np.int32), goal_rgb=np.zeros((E, H, H, 3), np.uint8),
                goal_mask=np.zeros((E, H, H), np.uint8), family=np.zeros(E, np.int32))


@pytest.mark.slow
def test_recurrent_goal_cnn_learns_a_cue_it_must_remember_and_the_feed_forward_net_does_not():
    env, env_params = make_task_env(TaskConfig(frame_size=H, families=("approach",), distances=(20,)))
    space = env.action_space(env_params)
    dist = action_distribution(space)
    demos = cue_demos()
    held_out = sample_windows({k: jnp.asarray(v) for k, v in cue_demos(seed=1).items()}, jax.random.key(9), 128, T)
    acc = {}
    for core in (0, 16):
        net = make_network(NetConfig(kind="goal_cnn", channels=(4,), hidden=(16,), core_size=core, activation="relu",
                                     separate_critic=False, goal=GoalNetConfig(fusion="conv")),
                           env.observation_space(env_params), space)
        params, _ = pretrain(net, dist, demos, ImitationConfig(steps=300, batch_episodes=32, window=T, lr=3e-3),
                             log=None)
        _, logits, _ = jax.jit(net.apply)(params, net.initial_carry(128), held_out["obs"], held_out["reset"])
        yaw = np.asarray(dist.mode(logits))[..., -1]
        acc[core] = (yaw[1:] == np.asarray(held_out["action"])[1:, :, -1]).mean()   # steps after the cue
    assert acc[16] >= 0.95, acc
    assert acc[0] <= 0.7, acc
