"""ROCKET-3's recipe on all four families (approach, break, interact, hunt) at spawn distance 20, sized
for a 2-core CPU in under two hours end to end (`make rocket3-cpu`: 84 min from a fresh clone on a
2-core AMD EPYC shared with other jobs, measured 2026-12-07; docs/tasks.md).

The same pipeline as `make run` (experiments/quickstart.py), four times the task variety: 8,192
episodes of the resolved visual-servo teacher (one-pixel dead zone) with 25 % injected random
actions (it approaches, then attacks or uses the target as its family asks), behaviour cloning of
this network for 6,000 steps with the auxiliary visibility/centroid loss and the steps that show the
target weighted 4×, then PPO with the decaying KL penalty to the cloned policy:

    jaxcraft demos experiments/rocket3_cpu.py --teacher servo_resolved --noise 0.25 --episodes 8192 --shard-size 256 --out runs/rocket3_cpu_demos
    jaxcraft pretrain experiments/rocket3_cpu.py --demos runs/rocket3_cpu_demos --out runs/rocket3_cpu_pretrained --steps 6000 --batch 32 --window 16 --visible-weight 4
    jaxcraft train experiments/rocket3_cpu.py
    jaxcraft eval runs/rocket3_cpu --split unseen --distances 20 --episodes 200 --max-steps 600

The fine-tuning is the recipe of the issue-29 study (docs/tasks.md, "The fine-tuning study"): the
perception encoder frozen as ROCKET-3 freezes its backbone (the learner runs no convolution, so the
budget buys 4 epochs × 4 minibatches), and a privileged critic (distance, bearing, visibility, time
left; the policy never reads it). Departures from the paper, for the CPU budget: 32×32 frames,
300-step training episodes (evaluation uses the paper's 600), a small feed-forward net, distance 20
only, and potential-based distance shaping on top of the binary success reward.
"""
import dataclasses
import pathlib

from jaxcraft.config import load_experiment

# The quickstart's env, net and fine-tuning recipe; four families, its own demos and 4x the budget.
_QUICKSTART = load_experiment(pathlib.Path(__file__).with_name("quickstart.py"))
CONFIG = dataclasses.replace(
    _QUICKSTART, name="rocket3_cpu",
    # 32-px frames (the quickstart's are 48 since 2026-12-07): 48 px would cost this preset's 8,192 demos and
    # 6,000 cloning steps ~2.5x the time and its budget of two hours (docs/tasks.md, "Resolution's cost").
    task=dataclasses.replace(_QUICKSTART.task, families=("approach", "break", "interact", "hunt"), frame_size=32),
    run=dataclasses.replace(_QUICKSTART.run, total_env_steps=1_638_400, init_params="runs/rocket3_cpu_pretrained"),
)
