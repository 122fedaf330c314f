"""Reduces shared/bench/llm/reference/peft_lora_adapter_format.json (written by
shared/bench/llm/adapter_format.py from PEFT 0.21.2's save_pretrained on
SmolLM2-135M-Instruct) to what the llm crate's adapter tests check: tensor
name patterns with shapes, tensor counts and the adapter_config.json keys.

    python3 crates/llm/test_data/extract_peft_adapter_format.py ../shared/bench/llm/reference/peft_lora_adapter_format.json
"""
import json
import sys
from pathlib import Path

src = json.loads(Path(sys.argv[1]).read_text())
out = {"source": "shared/bench/llm/reference/peft_lora_adapter_format.json", "adapters": []}
for a in src["adapters"]:
    cfg = a["adapter_config.json"]
    out["adapters"].append({
        "targets": a["targets"], "rank": a["rank"], "alpha": a["alpha"],
        "tensor_count": a["tensor_count"],
        "name_patterns_with_shapes": a["name_patterns_with_shapes"],
        "adapter_config_keys": sorted(cfg.keys()),
        "target_modules": cfg["target_modules"],
    })
Path(__file__).with_name("peft_adapter_format.json").write_text(json.dumps(out, indent=1) + "\n")
