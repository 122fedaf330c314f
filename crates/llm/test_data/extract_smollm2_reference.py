"""Extracts the part of shared/bench/llm/reference/smollm2_f32_prompt_logits.json
(made by shared/bench/llm/ref_smollm2.py with transformers 5.24.0, f32) that the
llm crate's tests check against: the chat prompt, its ids, tokenizer checks and
the top-5 last-position logits.

    python3 crates/llm/test_data/extract_smollm2_reference.py ../shared/bench/llm/reference/smollm2_f32_prompt_logits.json
"""
import json
import sys
from pathlib import Path

src = json.loads(Path(sys.argv[1]).read_text())
keep = ["what", "model_file", "model_package", "versions", "messages", "add_generation_prompt",
        "prompt_text", "prompt_ids", "top5_ids", "top5_tokens", "top5_logits", "greedy_ids",
        "greedy_text", "tokenizer_checks"]
out = {k: src[k] for k in keep}
out["source"] = "shared/bench/llm/reference/smollm2_f32_prompt_logits.json"
Path(__file__).with_name("smollm2_reference.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")

# minilm_embeddings.json is shared/bench/llm/reference/minilm_embeddings.json
# as shared/bench/llm/ref_minilm.py wrote it (sentence-transformers 6.2.0), copied whole.
