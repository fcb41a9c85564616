#!/usr/bin/env bash
# Issue 30, item 4 — memory where it matters. Can a student with memory copy the planning expert
# (which uses the map) better than a memoryless one, and beat the memoryless servo at distance 40?
#
#   bash scripts/memory_study.sh                       # everything below; resumable (finished stages are skipped)
#   SEEDS="0" STEPS=600 bash scripts/memory_study.sh   # a smoke run
#
# For each spawn distance D in $DISTANCES: 2,048 noisy demos of the planning expert and of the
# resolved servo (make run's teacher) on the same task ids; students cloned with make run's
# recipe otherwise (ω = 4 on the steps that show the target), one per cloning seed:
#   ff_servo    the feed-forward net from the servo (make run's student at $FRAME px)
#   ff_expert   the same net from the expert
#   gru_expert  + a GRU core of 128 (the heads read [GRU; trunk]; docs/tasks.md "the GRU cloning collapse")
#   trxl_expert + a Transformer-XL core (width 64, 2 layers, 4 heads, memory 32)
# Every student is scored by `jaxcraft eval` on the same 400 unseen approach@D tasks (seeds
# 100000-100399, 600 steps), and each D gets one seed table (per seed, mean ± sd, pooled Wilson
# 95 %): $OUT/table_d$D.md. The variants differ only by --set (recorded beside the params, so
# eval needs no experiment file). Windows of $WINDOW steps (a core learns what a window shows).
set -euo pipefail
J=${JAXCRAFT:-jaxcraft}
PY=${PYTHON:-python}
EXP=${EXP:-experiments/quickstart.py}
OUT=${OUT:-runs/memory_study}
DISTANCES=${DISTANCES:-"20 40"}
SEEDS=${SEEDS:-"0 1 2"}
STEPS=${STEPS:-2000}
FRAME=${FRAME:-32}
BATCH=${BATCH:-16}
WINDOW=${WINDOW:-32}
EPISODES=${EPISODES:-2048}
EVAL_EPISODES=${EVAL_EPISODES:-400}
mkdir -p "$OUT"

declare -A NET=(
  [ff_servo]=""
  [ff_expert]=""
  [gru_expert]="--set net.core=gru --set net.core_size=128"
  [trxl_expert]="--set net.core=trxl --set net.core_size=64 --set net.core_layers=2 --set net.core_heads=4 --set net.core_memory=32"
)
STUDENTS="ff_servo ff_expert gru_expert trxl_expert"

for D in $DISTANCES; do
  TASK="--set task.frame_size=$FRAME --set task.distances=($D,)"
  for teacher in servo_resolved expert; do
    demos=$OUT/demos_${teacher}_d$D
    test -f "$demos/manifest.json" || $J demos "$EXP" $TASK --teacher "$teacher" --noise 0.25 \
      --episodes "$EPISODES" --shard-size 128 --out "$demos"
  done
  policies=()
  for student in $STUDENTS; do
    teacher=${student#*_}; [ "$teacher" = servo ] && teacher=servo_resolved
    evals=()
    for s in $SEEDS; do
      run=$OUT/${student}_d${D}_s$s
      test -d "$run" || $J pretrain "$EXP" $TASK ${NET[$student]} --demos "$OUT/demos_${teacher}_d$D" --out "$run" \
        --steps "$STEPS" --batch "$BATCH" --window "$WINDOW" --visible-weight 4 --seed "$s" --no-tensorboard
      test -f "${run}_eval/eval.json" || $J eval "$run" --split unseen --families approach --distances "$D" \
        --episodes "$EVAL_EPISODES" --max-steps 600 --seed0 100000 --videos 0 --out "${run}_eval"
      evals+=("${run}_eval")
    done
    policies+=(--policy "$student" "${evals[@]}")
  done
  $PY -m jaxcraft.eval.seed_report "${policies[@]}" --out "$OUT/table_d$D.md"
done
