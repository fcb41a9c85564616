#!/usr/bin/env bash
# Issue 29's study: which fine-tuning recipe makes RL beat the cloned student (docs/tasks.md).
#
#   scripts/rl_study.sh [SEEDS...]          (default: 0 1 2; output under runs/study/)
#   ARMS="a d" scripts/rl_study.sh 2        (only these arms)
#
# One cloned student (`make run`'s: servo demos, 3,000 cloning steps, seed 0) is fine-tuned by
# every arm with every training seed for the same env-step budget (the quickstart's 409,600), and
# every policy — the student, the servo teacher and each arm's seeds — is scored on the same 400
# unseen approach@20 task ids (seeds 100000–100399, never in `make run`'s reports; 600 steps).
# Rounds go seed by seed (all arms of seed 0, then of seed 1, …) so a stopped study leaves every
# arm with the same number of seeds. Finished runs and evaluations are skipped when re-run.
# Then scripts/rl_study_report.py tabulates the arms and draws their learning curves.
#
# Arms (each one change from the one before, except (a)):
#   a  today's recipe: PPO + KL to the cloned policy, whole net trained, 2 epochs × 2 minibatches
#   b  frozen encoder, the freed learner time spent on 4 epochs × 4 minibatches
#   c  b + privileged critic (the value reads distance, bearing, visibility, time left)
#   d  c + teacher-guided curriculum (the servo acts first, H 100 → 0 over the first half)
#   e  d with the whole net trained (no freezing)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
jc() { "$py" -m jaxcraft.cli "$@"; }
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$PWD/.jax_cache}
# The measured study (docs/tasks.md) cloned its student with the quickstart as of 01798d3 (no
# privileged critic in the net); today's quickstart has one, whose value-only input layer arms (a)
# and (b) lack. To reproduce: git show 01798d3:experiments/quickstart.py > /tmp/qs.py; EXP=/tmp/qs.py.
exp=${EXP:-experiments/quickstart.py}
out=runs/study
[ $# -gt 0 ] && seeds=("$@") || seeds=(0 1 2)
eval_args=(--split unseen --families approach --distances 20 --episodes 400 --seed0 100000
           --max-steps 600 --batch-size 200 --videos 0)
mkdir -p "$out"

# Every arm sets every key it is defined by, so the arms do not change with the experiment file's
# defaults (quickstart.py itself now uses one of them).
declare -A arm
arm[a]="--set ppo.freeze_encoder=false --set ppo.num_epochs=2 --set ppo.num_minibatches=2 \
--set task.privileged_obs=false --set net.goal.privileged_critic=false --set run.guide.teacher= --set run.guide.horizon=0"
arm[b]="--set ppo.freeze_encoder=true --set ppo.num_epochs=4 --set ppo.num_minibatches=4 \
--set task.privileged_obs=false --set net.goal.privileged_critic=false --set run.guide.teacher= --set run.guide.horizon=0"
arm[c]="--set ppo.freeze_encoder=true --set ppo.num_epochs=4 --set ppo.num_minibatches=4 \
--set task.privileged_obs=true --set net.goal.privileged_critic=true --set run.guide.teacher= --set run.guide.horizon=0"
arm[d]="--set ppo.freeze_encoder=true --set ppo.num_epochs=4 --set ppo.num_minibatches=4 \
--set task.privileged_obs=true --set net.goal.privileged_critic=true --set run.guide.teacher=servo --set run.guide.horizon=100"
arm[e]="--set ppo.freeze_encoder=false --set ppo.num_epochs=4 --set ppo.num_minibatches=4 \
--set task.privileged_obs=true --set net.goal.privileged_critic=true --set run.guide.teacher=servo --set run.guide.horizon=100"

# The student and the teacher.
test -f "$out/demos/manifest.json" || jc demos "$exp" --teacher servo --noise 0.25 --episodes 2048 --shard-size 128 --out "$out/demos"
test -d "$out/cloned" || jc pretrain "$exp" --demos "$out/demos" --out "$out/cloned" --steps 3000 --batch 32 --window 16
test -f "$out/eval_cloned/eval.json" || jc eval "$out/cloned" --experiment "$exp" "${eval_args[@]}" --out "$out/eval_cloned"
test -f "$out/eval_servo/eval.json" || jc eval servo --experiment "$exp" "${eval_args[@]}" --out "$out/eval_servo"

for s in "${seeds[@]}"; do
  for a in ${ARMS:-a b c d e}; do
    run="$out/${a}_s$s"
    if ! test -f "$run/done"; then
      start=$(date +%s)
      # shellcheck disable=SC2086  # the arm's flags are words
      jc train "$exp" --no-resume --run-dir "$run" --set run.seed="$s" --set run.init_params="$out/cloned" \
        --set run.progress=false --set run.tensorboard=false ${arm[$a]}
      echo "$(( $(date +%s) - start ))" > "$run/done"   # wall seconds, compilation included
    fi
    test -f "$run/eval_unseen/eval.json" || jc eval "$run" "${eval_args[@]}" --out "$run/eval_unseen"
  done
done
"$py" scripts/rl_study_report.py "$out"
