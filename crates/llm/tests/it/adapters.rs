//! Adapters: PEFT's names and shapes (checked against PEFT's own files for
//! SmolLM2), save and load back with the same logits, merge, and the refusal
//! of an adapter trained on another base.

use std::collections::BTreeMap;

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};
use lathe_llm::lora::merge::{merged_model, write_merged};
use lathe_llm::lora::peft::{self, BaseIdentity};
use lathe_llm::lora::{Adapters, LoraConfig, Target};
use lathe_llm::train::TrainModel;
use lathe_llm::{load_path, tiny, Error, LlamaConfig};

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
}

/// Gives every B random values, as training would, so the adapter changes the logits.
fn trained(adapters: &Adapters) {
    for (_, var) in adapters.named_vars() {
        let t = Tensor::randn(0f32, 0.3, var.shape(), &Device::Cpu).unwrap();
        var.set(&t).unwrap();
    }
}

const IDS: [[u32; 8]; 1] = [[0, 259, 260, 40, 41, 42, 1, 200]];

#[test]
fn names_and_shapes_are_pefts() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../test_data/peft_adapter_format.json")).unwrap();
    let smollm2 = LlamaConfig {
        vocab_size: 49152,
        hidden_size: 576,
        intermediate_size: 1536,
        num_hidden_layers: 30,
        num_attention_heads: 9,
        num_key_value_heads: 3,
        rms_norm_eps: 1e-5,
        rope_theta: 100_000.0,
        max_position_embeddings: 8192,
        tie_word_embeddings: true,
        attention_bias: false,
    };
    for case in fixture["adapters"].as_array().unwrap() {
        let names: Vec<&str> =
            case["targets"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let targets = Target::parse_list(&names.join(",")).unwrap();
        let config = LoraConfig { rank: 8, alpha: 16.0, dropout: 0.0, targets };
        let a = Adapters::init(config, &smollm2, DType::F32, &Device::Cpu, 0).unwrap();
        let vars = a.named_vars();
        assert_eq!(vars.len() as u64, case["tensor_count"].as_u64().unwrap());
        let mut patterns = BTreeMap::new();
        for (name, var) in &vars {
            let layer = name.split('.').nth(4).unwrap();
            let pattern = name.replacen(&format!(".layers.{layer}."), ".layers.{i}.", 1);
            patterns.insert(pattern, serde_json::json!(var.dims()));
        }
        let expected: BTreeMap<String, serde_json::Value> = case["name_patterns_with_shapes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(patterns, expected);
    }
}

#[test]
fn saved_adapters_load_back_merge_and_refuse_another_base() {
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    tiny::write_hf_folder(&base_dir, 21, 1).unwrap();
    let base = load_path(&base_dir).unwrap();
    let model = base.engine.model();
    let identity = BaseIdentity::of(model, "tiny-base").unwrap();
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.05,
        targets: vec![Target::Q, Target::V, Target::Down],
    };
    let adapters =
        Adapters::init(config.clone(), model.config(), DType::F32, &Device::Cpu, 3).unwrap();
    trained(&adapters);
    let adapted = TrainModel::new(model, adapters, DType::F32).unwrap();
    let ids = Tensor::new(&IDS, &Device::Cpu).unwrap();
    let expected = adapted.forward(&ids, None).unwrap().squeeze(0).unwrap();
    let plain = model.forward_all(&IDS[0], &mut model.new_cache()).unwrap();
    assert!(max_diff(&expected, &plain) > 1e-2, "the adapter must change the logits");

    let out = dir.path().join("adapter");
    peft::save(&out, adapted.adapters(), &identity).unwrap();
    let saved = peft::read_config(&out).unwrap();
    assert_eq!(saved.lora, config);
    assert_eq!(saved.base_name.as_deref(), Some("tiny-base"));
    let text = std::fs::read_to_string(out.join("adapter_config.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["peft_type"], "LORA");
    assert_eq!(json["target_modules"], serde_json::json!(["q_proj", "v_proj", "down_proj"]));

    let loaded = peft::load(&out, model.config(), &identity, DType::F32).unwrap();
    let again = TrainModel::new(model, loaded, DType::F32).unwrap();
    let logits = again.forward(&ids, None).unwrap().squeeze(0).unwrap();
    assert_eq!(max_diff(&logits, &expected), 0.0);

    // The merged folder loads as a plain model with base+adapter's logits.
    let merged_dir = dir.path().join("merged");
    write_merged(&base_dir, &merged_dir, model, adapted.adapters()).unwrap();
    let merged = load_path(&merged_dir).unwrap();
    let m = merged.engine.model();
    let d = max_diff(&m.forward_all(&IDS[0], &mut m.new_cache()).unwrap(), &expected);
    assert!(d < 1e-4, "merged logits differ by {d}");

    // Another base (other random weights, same shapes) is refused, naming both.
    tiny::write_hf_folder(&dir.path().join("other"), 22, 1).unwrap();
    let other = load_path(&dir.path().join("other")).unwrap();
    let other_id = BaseIdentity::of(other.engine.model(), "tiny-other").unwrap();
    let e = peft::load(&out, other.engine.model().config(), &other_id, DType::F32).err().unwrap();
    assert!(matches!(e, Error::AdapterBase { .. }));
    let msg = e.to_string();
    assert!(msg.contains("tiny-base") && msg.contains("tiny-other"), "{msg}");
}

#[test]
fn a_merged_quantized_base_decodes_its_unadapted_projections_from_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.gguf");
    tiny::write_gguf(&path, 21, GgmlDType::Q4_1).unwrap();
    let base = load_path(&path).unwrap();
    let model = base.engine.model();
    let targets = vec![Target::Q, Target::V, Target::Down];
    let config = LoraConfig { rank: 4, alpha: 8.0, dropout: 0.0, targets };
    let adapters = Adapters::init(config, model.config(), DType::F32, &Device::Cpu, 3).unwrap();
    trained(&adapters);
    let merged = merged_model(model, &adapters).unwrap();
    // 2 layers × 7 projections + the output projection; the 2 × 3 adapted
    // ones leave the quantization grid and decode from f32.
    assert_eq!(model.packed_projections(), 15);
    assert_eq!(merged.packed_projections(), 9);
    let adapted = TrainModel::new(model, adapters, DType::F32).unwrap();
    let ids = Tensor::new(&IDS, &Device::Cpu).unwrap();
    let expected = adapted.forward(&ids, None).unwrap().squeeze(0).unwrap();
    let mut cache = merged.new_cache();
    for (i, id) in IDS[0].iter().enumerate() {
        let one = merged.forward_last(&[*id], &mut cache).unwrap();
        let d = max_diff(&one, &expected.get(i).unwrap());
        assert!(d < 1e-4, "position {i} differs by {d}");
    }
}
