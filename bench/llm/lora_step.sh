#!/usr/bin/env bash
# LoRA training step, lathe against PEFT + transformers, on the same batches:
# SmolLM2-135M-Instruct in f32, rank 8 / alpha 16 on q_proj,v_proj, batch
# 4 x 128 tokens of chitchat (labels = inputs), dropout 0, AdamW, 1 warm-up
# and 3 timed steps; the two alternate ROUNDS times so drift on a shared
# machine hits both. lathe is crates/llm/examples/bench_lora_step.rs (the
# trainer's loss_and_grads + AdamW), PEFT is ../shared/bench/llm/lora_step.py.
#
# usage: bench/llm/lora_step.sh [ROUNDS]
# env: LATHE_TARGET (cargo target dir, default target), LATHE_BENCH_BIN (a
#      built bench_lora_step, skips the build), PEFT_PY (default
#      ~/.cache/lathe/venv-peft/bin/python, made by .ci/run), MODELS (default
#      ~/.cache/lathe-models), OUT (results folder)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
rounds=${1:-2}
PEFT_PY=${PEFT_PY:-$HOME/.cache/lathe/venv-peft/bin/python}
MODELS=${MODELS:-$HOME/.cache/lathe-models}
OUT=${OUT:-$here/results/lora_step_$(date -u +%F)}
site=$HOME/.cache/lathe/bench/gguf-site
[ -d "$site/gguf" ] || "$PEFT_PY" -m pip install -q --target "$site" gguf
bin=${LATHE_BENCH_BIN:-${LATHE_TARGET:-$repo/target}/release/examples/bench_lora_step}
[ -n "${LATHE_BENCH_BIN:-}" ] ||
  (cd "$repo" && CARGO_TARGET_DIR=${LATHE_TARGET:-$repo/target} cargo build -q --release -p lathe-llm --example bench_lora_step)
mkdir -p "$OUT"
for r in $(seq 1 "$rounds"); do
  RAYON_NUM_THREADS=2 "$bin" "$MODELS/smollm2-135m-instruct" "$shared/data/chitchat_conversations.jsonl" 3 \
    > "$OUT/lathe.r$r.json"
  (cd "$shared/bench/llm" && PYTHONPATH=$site LATHE_MODELS_DIR=$MODELS \
    "$PEFT_PY" lora_step.py --targets qv --steps 3 --warmup 1 --out "$OUT/peft.r$r.json" 2>/dev/null)
done
python3 - "$OUT" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
def runs(prefix):
    rs = [json.loads(p.read_text()) for p in sorted(out.glob(f"{prefix}.r*.json"))]
    steps = [s for r in rs for s in r["step_s"]["runs"]]
    peak = max(r.get("peak_rss_mib_process", 0) for r in rs)
    return statistics.median(steps), min(steps), max(steps), peak, len(steps)
lathe, peft = runs("lathe"), runs("peft")
lines = ["| engine | s/step median [min-max] | steps | peak RSS MiB |", "|---|---|---:|---:|"]
for name, (med, lo, hi, peak, n) in (("lathe", lathe), ("PEFT + transformers", peft)):
    lines.append(f"| {name} | {med:.2f} [{lo:.2f}-{hi:.2f}] | {n} | {peak:,.0f} |")
lines.append("")
lines.append(f"lathe / PEFT: step time {lathe[0] / peft[0]:.2f}x, peak RSS {lathe[3] / peft[3]:.2f}x")
first = lambda p: json.loads((out / f"{p}.r1.json").read_text())["losses"]
lines.append(f"losses, round 1: lathe {[round(l, 4) for l in first('lathe')]}, PEFT {[round(l, 4) for l in first('peft')]}")
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
