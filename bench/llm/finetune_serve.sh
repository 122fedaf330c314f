#!/usr/bin/env bash
# The real SmolLM2-135M-Instruct end to end, as the README shows it: a short
# LoRA fine-tune on a slice of the shared chitchat conversations (held-out
# perplexity before and after, logged as a tracking run), the adapter
# registered and aliased, then `lathe serve --llm models:/NAME@prod` answering
# a chat request with the adapter folded in.
#
# Environment (all optional):
#   SHARED  the shared/ checkout (default ../shared next to the repository)
#   MODELS  where shared/models/fetch.sh put the models (default ~/.cache/lathe-models)
#   STEPS   optimizer steps (default 30)
#   THREADS candle's threads (default 2)
#   LATHE   the lathe binary (default: release build of this checkout)
#   WORK    scratch folder (default a new temporary one, kept for inspection)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$root/../shared}
MODELS=${MODELS:-$HOME/.cache/lathe-models}
STEPS=${STEPS:-30}
export RAYON_NUM_THREADS=${THREADS:-2}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
if [ -z "${LATHE:-}" ]; then
    export CMAKE=${CMAKE:-$HOME/.cache/lathe/venv-cmake/bin/cmake}
    (cd "$root" && cargo build --release -q -p lathe-cli)
    LATHE="${CARGO_TARGET_DIR:-$root/target}/release/lathe"
fi
[ -f "$MODELS/smollm2-135m-instruct/.complete" ] || bash "$SHARED/models/fetch.sh" "$MODELS"
base="$MODELS/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
python3 "$here/chitchat_slice.py" "$SHARED/data/chitchat_conversations.jsonl" "$WORK"
tracking="sqlite:///$WORK/lathe.db"
cd "$WORK"

echo "== fine-tune ($STEPS steps) and register" >&2
/usr/bin/time -f "finetune: %e s wall, %M KB peak RSS" "$LATHE" llm finetune --base "$base" \
    --data train.jsonl --eval eval16.jsonl --rank 8 --alpha 16 --dropout 0.05 \
    --targets q_proj,v_proj --batch-size 4 --max-seq-len 128 --lr 1e-3 --warmup-ratio 0.1 \
    --max-steps "$STEPS" --eval-every 0 --samples 2 --out adapter \
    --experiment smollm2-chitchat --register smollm2-chitchat \
    --tracking-uri "$tracking" --artifacts-destination "$WORK/artifacts" 2>&1 | tee finetune.log | tail -n 12
"$LATHE" models alias smollm2-chitchat prod 1 --tracking-uri "$tracking"

echo "== serve models:/smollm2-chitchat@prod and chat" >&2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$LATHE" serve --llm models:/smollm2-chitchat@prod --port "$port" --tracking-uri "$tracking" \
    --artifacts-destination "$WORK/artifacts" > serve.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$port/v1/models"; echo
question=$(python3 -c 'import json; print(json.loads(open("eval16.jsonl").readline())["messages"][0]["content"])')
body=$(python3 -c 'import json,sys; print(json.dumps({"model": "smollm2-chitchat", "max_tokens": 48, "temperature": 0, "messages": [{"role": "user", "content": sys.argv[1]}]}))' "$question")
echo "user: $question"
curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' -d "$body" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print("assistant:", r["choices"][0]["message"]["content"]); print("usage:", r["usage"])'
echo "work folder: $WORK" >&2
