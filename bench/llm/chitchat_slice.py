"""Cuts the LoRA benchmark's data from ../shared/data/chitchat_conversations.jsonl:
conversations 0-199 for training, 900-915 held out, as OpenAI chat JSONL
(only role and content kept).

    python3 bench/llm/chitchat_slice.py ../shared/data/chitchat_conversations.jsonl OUTDIR
"""
import json
import sys
from pathlib import Path

rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)


def chat(r):
    return json.dumps({"messages": [{"role": m["role"], "content": m["content"]} for m in r["messages"]]})


(out / "train.jsonl").write_text("".join(chat(r) + "\n" for r in rows[:200]))
(out / "eval16.jsonl").write_text("".join(chat(r) + "\n" for r in rows[900:916]))
