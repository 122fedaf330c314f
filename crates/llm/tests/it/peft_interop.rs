//! Interop with Hugging Face PEFT itself (torch, transformers, peft from
//! `LATHE_TEST_PEFT_PYTHON`; `.ci/run` makes that venv): an adapter lathe
//! saves loads in `PeftModel.from_pretrained` with the logits lathe computes,
//! and an adapter PEFT saves loads in lathe with PEFT's logits. The base is a
//! tiny random Llama (or Qwen2) that lathe writes as a Hugging Face folder,
//! which transformers loads as it is.

use std::path::Path;
use std::process::Command;

use candle_core::{DType, Device, Tensor};
use lathe_llm::lora::peft::{self, BaseIdentity};
use lathe_llm::lora::{Adapters, LoraConfig, Target};
use lathe_llm::train::TrainModel;
use lathe_llm::{load_path, tiny};

const IDS: [u32; 10] = [0, 259, 260, 40, 41, 42, 1, 200, 17, 3];

/// The Python with torch and peft, or None (the test then says why it skips).
fn peft_python() -> Option<String> {
    let python = std::env::var("LATHE_TEST_PEFT_PYTHON").ok();
    if python.is_none() {
        eprintln!("skipping: LATHE_TEST_PEFT_PYTHON is not set (.ci/run sets it to a venv with torch and peft)");
    }
    python
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/peft_interop.py")
}

/// Runs the PEFT side and returns its JSON answer.
fn run_python(python: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(python).arg(script()).args(args).output().expect("start python");
    assert!(
        out.status.success(),
        "peft_interop.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("peft_interop.py prints JSON")
}

/// `[seq][vocab]` logits from the script's JSON as a tensor.
fn tensor(value: &serde_json::Value) -> Tensor {
    let rows: Vec<Vec<f32>> = serde_json::from_value(value.clone()).expect("logits rows");
    Tensor::new(rows, &Device::Cpu).expect("logits tensor")
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
}

fn ids_json() -> String {
    serde_json::to_string(&IDS).unwrap()
}

#[test]
fn peft_loads_lathes_adapter_with_lathes_logits() {
    let Some(python) = peft_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    tiny::write_hf_folder(&base_dir, 31, 1).unwrap();
    adapter_logits_agree(&python, dir.path(), &base_dir);
}

/// A Qwen2 checkpoint (biases on q, k, v): transformers' Qwen2ForCausalLM
/// computes lathe's logits, with and without a lathe adapter.
#[test]
fn qwen2_runs_with_transformers_logits_plain_and_adapted() {
    let Some(python) = peft_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("qwen2");
    tiny::write_qwen2_hf_folder(&base_dir, 33).unwrap();
    assert!(load_path(&base_dir).unwrap().engine.model().config().attention_bias);
    adapter_logits_agree(&python, dir.path(), &base_dir);
}

/// lathe's logits of `base_dir` with and without a random adapter on every
/// projection equal transformers' and PEFT's within 1e-4.
fn adapter_logits_agree(python: &str, dir: &Path, base_dir: &Path) {
    let base = load_path(base_dir).unwrap();
    let model = base.engine.model();
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: vec![
            Target::Q,
            Target::K,
            Target::V,
            Target::O,
            Target::Gate,
            Target::Up,
            Target::Down,
        ],
    };
    let adapters = Adapters::init(config, model.config(), DType::F32, &Device::Cpu, 5).unwrap();
    // Random B as after training (B starts at zero), so the adapter matters.
    for (_, var) in adapters.named_vars() {
        var.set(&Tensor::randn(0f32, 0.3, var.shape(), &Device::Cpu).unwrap()).unwrap();
    }
    let adapted = TrainModel::new(model, adapters, DType::F32).unwrap();
    let ids = Tensor::new(&[IDS], &Device::Cpu).unwrap();
    let lathe = adapted.forward(&ids, None).unwrap().squeeze(0).unwrap();
    let lathe_plain = model.forward_all(&IDS, &mut model.new_cache()).unwrap();
    let out = dir.join("adapter");
    peft::save(&out, adapted.adapters(), &BaseIdentity::of(model, "tiny-base").unwrap()).unwrap();

    let answer = run_python(
        python,
        &["logits", base_dir.to_str().unwrap(), out.to_str().unwrap(), &ids_json()],
    );
    eprintln!("PEFT side: {}", answer["versions"]);
    let plain = tensor(&answer["plain"]);
    let d_plain = max_diff(&plain, &lathe_plain);
    assert!(d_plain < 1e-4, "transformers' base logits differ from lathe's by {d_plain}");
    let peft_logits = tensor(&answer["adapted"]);
    assert!(max_diff(&peft_logits, &plain) > 1e-2, "the adapter must change PEFT's logits");
    let d = max_diff(&peft_logits, &lathe);
    assert!(d < 1e-4, "PEFT's logits with lathe's adapter differ from lathe's by {d}");
}

#[test]
fn lathe_loads_pefts_adapter_with_pefts_logits() {
    let Some(python) = peft_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    tiny::write_hf_folder(&base_dir, 32, 1).unwrap();
    let out = dir.path().join("peft-adapter");
    let answer = run_python(
        &python,
        &["make", base_dir.to_str().unwrap(), out.to_str().unwrap(), &ids_json(), "7"],
    );
    let peft_logits = tensor(&answer["adapted"]);

    let base = load_path(&base_dir).unwrap();
    let model = base.engine.model();
    let saved = peft::read_config(&out).unwrap();
    assert_eq!(saved.lora.rank, 4);
    // PEFT keeps target_modules as a set: its order in the file varies.
    let mut targets: Vec<&str> = saved.lora.targets.iter().map(|t| t.name()).collect();
    targets.sort_unstable();
    assert_eq!(targets, ["down_proj", "q_proj", "v_proj"]);
    assert!(saved.base_fingerprint.is_none(), "PEFT writes no lathe fingerprint");
    let identity = BaseIdentity::of(model, base_dir.to_str().unwrap()).unwrap();
    let adapters = peft::load(&out, model.config(), &identity, DType::F32).unwrap();
    let adapted = TrainModel::new(model, adapters, DType::F32).unwrap();
    let ids = Tensor::new(&[IDS], &Device::Cpu).unwrap();
    let lathe = adapted.forward(&ids, None).unwrap().squeeze(0).unwrap();
    let plain = model.forward_all(&IDS, &mut model.new_cache()).unwrap();
    assert!(max_diff(&lathe, &plain) > 1e-2, "PEFT's adapter must change lathe's logits");
    let d = max_diff(&lathe, &peft_logits);
    assert!(d < 1e-4, "lathe's logits with PEFT's adapter differ from PEFT's by {d}");
}
