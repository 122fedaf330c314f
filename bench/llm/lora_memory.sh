#!/usr/bin/env bash
# LoRA step time and peak memory: `lathe llm finetune` with and without
# --gradient-checkpointing beside PEFT + transformers (the shared
# ../shared/bench/llm/lora_step.py), one after the other in one run, on
# SmolLM2-135M-Instruct (f32), rank 8 on q_proj,v_proj, batch 4 x 128 tokens,
# dropout 0, 3 timed steps. Peak RSS of each whole process from /usr/bin/time.
#
# usage: bench/llm/lora_memory.sh
# env: LATHE_BIN (default target/release/lathe), PEFT_PY (default
#      ~/.cache/lathe/venv-peft/bin/python, made by .ci/run; `gguf` is added
#      beside it under ~/.cache/lathe/bench/gguf-site), MODELS (default
#      ~/.cache/lathe-models, from shared/models/fetch.sh), OUT (results file)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
LATHE_BIN=${LATHE_BIN:-$repo/target/release/lathe}
PEFT_PY=${PEFT_PY:-$HOME/.cache/lathe/venv-peft/bin/python}
MODELS=${MODELS:-$HOME/.cache/lathe-models}
OUT=${OUT:-$here/results/lora_memory_$(date -u +%F).txt}
site=$HOME/.cache/lathe/bench/gguf-site
[ -d "$site/gguf" ] || "$PEFT_PY" -m pip install -q --target "$site" gguf
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 "$here/chitchat_slice.py" "$shared/data/chitchat_conversations.jsonl" "$work" >/dev/null
mkdir -p "$(dirname "$OUT")"
{
  echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $("$LATHE_BIN" --version)"
  for gc in "" --gradient-checkpointing; do
    echo "== lathe llm finetune ${gc:-(no checkpointing)}"
    /usr/bin/time -f "peak RSS %M KB, %e s wall" "$LATHE_BIN" llm finetune \
      --base "$MODELS/smollm2-135m-instruct" --data "$work/train.jsonl" --rank 8 --alpha 16 \
      --dropout 0 --targets q_proj,v_proj --batch-size 4 --max-seq-len 128 --max-steps 3 \
      --warmup-ratio 0 --lr 2e-4 --eval-every 0 --samples 0 --out "$work/out$gc" \
      --experiment lora-memory --tracking-uri "sqlite:///$work/lathe.db" \
      --artifacts-destination "$work/artifacts" $gc 2>&1 | grep -E "^(steps|first/last loss|median step|peak RSS)"
  done
  echo "== PEFT + transformers (lora_step.py --targets qv --steps 3 --warmup 1)"
  (cd "$shared/bench/llm" && PYTHONPATH=$site LATHE_MODELS_DIR=$MODELS /usr/bin/time -f "peak RSS %M KB, %e s wall" \
    "$PEFT_PY" lora_step.py --targets qv --steps 3 --warmup 1 --out "$work/peft.json" 2>&1 | grep -E "^(step |LoRA|peak RSS)")
} | tee "$OUT"
