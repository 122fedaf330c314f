"""Hugging Face PEFT's side of lathe's adapter interop test
(crates/llm/tests/it/peft_interop.rs). Prints one JSON object on stdout.

    peft_interop.py logits BASE_DIR ADAPTER_DIR IDS_JSON
        transformers loads BASE_DIR, PeftModel.from_pretrained loads the
        adapter lathe wrote; prints the logits of IDS ([seq][vocab]) with the
        adapter, and without it.
    peft_interop.py make BASE_DIR OUT_DIR IDS_JSON SEED
        a LoRA adapter made by PEFT itself (rank 4, alpha 8 on q_proj, v_proj
        and down_proj, random A and B so it changes the output), saved with
        save_pretrained; prints its logits of IDS.
"""

import json
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM


def base(path):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    return model


@torch.no_grad()
def logits(model, ids):
    return model(torch.tensor([ids])).logits[0].tolist()


def main(argv):
    mode = argv[0]
    if mode == "logits":
        base_dir, adapter_dir, ids = argv[1], argv[2], json.loads(argv[3])
        model = base(base_dir)
        plain = logits(model, ids)
        adapted = PeftModel.from_pretrained(model, adapter_dir)
        adapted.eval()
        out = {"adapted": logits(adapted, ids), "plain": plain}
    elif mode == "make":
        base_dir, out_dir, ids, seed = argv[1], argv[2], json.loads(argv[3]), int(argv[4])
        torch.manual_seed(seed)
        config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none",
                            target_modules=["q_proj", "v_proj", "down_proj"],
                            init_lora_weights=False, task_type="CAUSAL_LM")
        model = get_peft_model(base(base_dir), config)
        model.eval()
        model.save_pretrained(out_dir)
        out = {"adapted": logits(model, ids)}
    else:
        raise SystemExit(f"unknown mode {mode!r}; expected logits or make")
    import peft
    import transformers
    out["versions"] = {"torch": torch.__version__, "peft": peft.__version__,
                       "transformers": transformers.__version__}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
