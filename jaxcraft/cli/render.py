"""`jaxcraft render`: roll a policy in a generated world and save PNG/GIF/MP4, with a goal
view from a free camera and the exact mask of the object at its centre beside the agent view."""
from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.world import actions as A
from jaxcraft.world.camera import Camera
from jaxcraft.world.edit import agent_camera
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.render import object_mask, render
from jaxcraft.world.video import save_rollout

POLICIES = ("random", "explore")


def _policy_action(policy: str, key: jax.Array, t: jax.Array) -> jax.Array:
    """random: uniform factors; explore: walk forward, jump and turn now and then, attack."""
    if policy == "random":
        return jax.vmap(lambda k, n: jax.random.randint(k, (), 0, n))(
            jax.random.split(key, A.NUM_FACTORS), jnp.asarray(A.NVEC))
    u = jax.random.uniform(key, (3,))
    turn = jnp.where(u[0] < 0.15, jnp.where(u[1] < 0.5, 2, 8), A.NOOP_CAMERA_BIN)
    pitch = jnp.where((t // 40) % 2 == 0, A.NOOP_CAMERA_BIN, jnp.where(t % 40 < 3, 4, A.NOOP_CAMERA_BIN))
    return jnp.asarray([1, 0, 0, 0, (u[2] < 0.1).astype(jnp.int32), 0, 0, 1, 0, 0, 0], jnp.int32).at[9].set(
        pitch).at[10].set(turn)


def render_rollout(seed: int = 0, steps: int = 100, out_dir: str = "runs/render", height: int = 64,
                   width: int = 64, policy: str = "explore", goal: bool = True, gif: bool = True,
                   mp4: bool = False, png_every: int = 25, scale: int = 4,
                   static: WorldStatic | None = None) -> dict:
    """Generate a world from `seed`, roll `policy` for `steps` ticks, save the media.

    With goal=True, a goal view is rendered from a free camera 6 blocks behind and 4 above
    the spawn (looking down 25°), and the exact mask of the object at its centre is shown.
    Returns the written paths plus "target_id".
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose from {POLICIES}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    static = static or WorldStatic(height=height, width=width)
    env = JaxCraftEnv(static)
    params = env.default_params
    key = jax.random.key(seed)
    obs, state = jax.jit(env.reset_env)(key, params)

    @jax.jit
    def rollout(state, key):
        def body(carry, t):
            s, k = carry
            k, ka, ks = jax.random.split(k, 3)
            o, s, *_ = env.step_env(ks, s, _policy_action(policy, ka, t), params)
            return (s, k), o["rgb"]
        return jax.lax.scan(body, (state, key), jnp.arange(steps))[1]

    frames = np.concatenate([np.asarray(obs["rgb"])[None], np.asarray(rollout(state, jax.random.key(seed + 1)))])
    goal_img = mask = None
    target = 0
    if goal:
        cam0 = agent_camera(state)
        # Goal camera: behind and above the spawn, looking down; the first candidate whose
        # eye is in open air (not inside a tree crown).
        blocks = np.asarray(state.blocks)
        yaw = float(cam0.yaw)
        cam = Camera(cam0.pos, cam0.yaw, jnp.asarray(np.radians(-20.0), jnp.float32))
        for back, up in ((6.0, 4.0), (4.0, 3.0), (3.0, 2.0), (2.0, 1.0)):
            pos = np.asarray(cam0.pos) + np.asarray([np.sin(yaw) * back, up, -np.cos(yaw) * back])
            v = np.floor(pos).astype(int)
            if (v >= 0).all() and (v < np.asarray(blocks.shape)).all() and blocks[tuple(v)] == 0:
                cam = Camera(jnp.asarray(pos, jnp.float32), cam0.yaw, jnp.asarray(np.radians(-25.0), jnp.float32))
                break
        frame = jax.jit(lambda s, c: render(static, s, c))(state, cam)
        target = int(frame.obj_id[static.height // 2, static.width // 2])
        goal_img, mask = np.asarray(frame.rgb), np.asarray(object_mask(frame, target))
    out = save_rollout(frames, out_dir, goal_img, mask, png_every=png_every, gif=gif, mp4=mp4, scale=scale)
    out["target_id"] = target
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="world seed")
    parser.add_argument("--steps", type=int, default=100, help="rollout length in ticks")
    parser.add_argument("--out", default="runs/render", help="output directory")
    parser.add_argument("--size", type=int, default=64, help="frame height and width in pixels")
    parser.add_argument("--policy", choices=POLICIES, default="explore")
    parser.add_argument("--no-goal", action="store_true", help="omit the goal view + mask panels")
    parser.add_argument("--mp4", action="store_true", help="also write an MP4 (needs imageio-ffmpeg)")
    parser.add_argument("--png-every", type=int, default=25, help="save every k-th frame as PNG (0: none)")
    parser.add_argument("--scale", type=int, default=4, help="nearest-neighbour upscaling of saved images")


def run(args: argparse.Namespace) -> int:
    out = render_rollout(seed=args.seed, steps=args.steps, out_dir=args.out, height=args.size, width=args.size,
                         policy=args.policy, goal=not args.no_goal, mp4=args.mp4, png_every=args.png_every,
                         scale=args.scale)
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    add_arguments(p)
    raise SystemExit(run(p.parse_args()))
