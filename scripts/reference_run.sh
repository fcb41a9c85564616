#!/usr/bin/env bash
# Reference run for behaviour-preserving refactors (docs/architecture.md):
#   scripts/reference_run.sh OUT   → OUT/digest.txt, the sha256 of every deterministic metric
# Run it on two commits on the same machine and diff the digests; they must be identical.
#   1. jaxcraft train experiments/cartpole.py for 16 updates;
#   2. a few servo demos → a short behaviour cloning → the quickstart's first 8 PPO updates from
#      those cloned params (KL reference, critic warm-up, value norm: the whole fused path).
set -euo pipefail
out=$(realpath -m "${1:?usage: scripts/reference_run.sh OUT}")
py=${PYTHON:-.venv/bin/python}
jc() { "$py" -m jaxcraft.cli "$@"; }
mkdir -p "$out"
jc train experiments/cartpole.py --no-resume --set run.run_dir="$out/cartpole" --set run.total_env_steps=8192 \
  --set run.progress=false --set run.tensorboard=false
test -f "$out/demos/manifest.json" || jc demos experiments/quickstart.py --teacher servo --noise 0.25 --episodes 16 \
  --shard-size 8 --out "$out/demos"
test -d "$out/pretrained" || jc pretrain experiments/quickstart.py --demos "$out/demos" --out "$out/pretrained" \
  --steps 20 --batch 8 --window 16
jc train experiments/quickstart.py --no-resume --set run.run_dir="$out/quickstart" --set run.init_params="$out/pretrained" \
  --set run.total_env_steps=32768 --set run.checkpoint_every=0 --set run.progress=false --set run.tensorboard=false
"$py" - "$out" <<'PY'
import hashlib, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
lines = []   # one line per (run, update, metric): a diff names exactly what changed
for name in ("cartpole", "quickstart"):
    for row in map(json.loads, (out / name / "metrics.jsonl").read_text().splitlines()):
        lines += [f"{name} {row['update']:4d} {k} {v!r}" for k, v in sorted(row.items()) if not k.startswith("time/")]
lines += [f"demos {p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in sorted((out / "demos").glob("*.npz"))]
(out / "digest.txt").write_text("\n".join(lines) + "\n")
print(f"{len(lines)} lines → {out / 'digest.txt'}")
PY
