//! Loading: both formats give the same model, sharded folders, and the
//! errors for missing files and unsupported architectures.

use candle_core::quantized::GgmlDType;
use lathe_llm::{load_path, tiny, Engine, Error, ModelFormat};

fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar().unwrap()
}

const IDS: [u32; 9] = [0, 259, 260, 40, 41, 42, 1, 200, 7];

#[test]
fn hf_folder_sharded_folder_and_gguf_compute_the_same_logits() {
    let dir = tempfile::tempdir().unwrap();
    tiny::write_hf_folder(&dir.path().join("hf"), 11, 1).unwrap();
    tiny::write_hf_folder(&dir.path().join("sharded"), 11, 3).unwrap();
    tiny::write_gguf(&dir.path().join("tiny.gguf"), 11, GgmlDType::F32).unwrap();
    let hf = load_path(&dir.path().join("hf")).unwrap();
    let sharded = load_path(&dir.path().join("sharded")).unwrap();
    let gguf = load_path(&dir.path().join("tiny.gguf")).unwrap();
    assert_eq!(hf.format, ModelFormat::HuggingFace);
    assert_eq!(gguf.format, ModelFormat::Gguf);
    assert!(dir.path().join("sharded/model.safetensors.index.json").exists());
    let logits = |m: &lathe_llm::LoadedModel| {
        let model = m.engine.model();
        model.forward_all(&IDS, &mut model.new_cache()).unwrap()
    };
    let reference = logits(&hf);
    assert_eq!(reference.dims(), &[IDS.len(), tiny::config().vocab_size]);
    assert!(max_diff(&reference, &logits(&sharded)) == 0.0);
    // GGUF's Q/K rows are permuted on disk: equal logits prove they are un-permuted.
    let d = max_diff(&reference, &logits(&gguf));
    assert!(d < 1e-5, "gguf differs by {d}");
    // Both formats build the same tokenizer and template.
    let chat = [lathe_llm::ChatMessage::new("user", "the 12 cats")];
    assert_eq!(hf.engine.encode_chat(&chat).unwrap(), gguf.engine.encode_chat(&chat).unwrap());
}

#[test]
fn a_folder_holding_one_gguf_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    tiny::write_gguf(&dir.path().join("m.gguf"), 1, GgmlDType::F32).unwrap();
    let m = load_path(dir.path()).unwrap();
    assert_eq!(m.format, ModelFormat::Gguf);
    assert_eq!(m.path, dir.path().join("m.gguf"));
}

#[test]
fn quantized_gguf_weights_are_dequantized_close_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    tiny::write_gguf(&dir.path().join("f32.gguf"), 5, GgmlDType::F32).unwrap();
    tiny::write_gguf(&dir.path().join("q8.gguf"), 5, GgmlDType::Q8_0).unwrap();
    let a = load_path(&dir.path().join("f32.gguf")).unwrap();
    let b = load_path(&dir.path().join("q8.gguf")).unwrap();
    let run = |m: &lathe_llm::LoadedModel| {
        let model = m.engine.model();
        model.forward_all(&IDS, &mut model.new_cache()).unwrap()
    };
    let d = max_diff(&run(&a), &run(&b));
    // Q8_0 keeps ~2-3 significant digits per weight: close, but not equal.
    assert!(d > 0.0 && d < 0.15, "q8_0 differs by {d}");
}

#[test]
fn quantized_gguf_decodes_from_its_blocks_like_the_dequantized_weights() {
    for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.gguf");
        tiny::write_gguf(&path, 5, dtype).unwrap();
        let loaded = load_path(&path).unwrap();
        let model = loaded.engine.model();
        // 7 projections in each of 2 layers, and the output projection.
        assert_eq!(model.packed_projections(), 15, "{dtype:?}");
        // All positions at once multiply the f32 weights with gemm; one
        // position at a time reads the blocks.
        let all = model.forward_all(&IDS, &mut model.new_cache()).unwrap();
        let mut cache = model.new_cache();
        for (i, id) in IDS.iter().enumerate() {
            let one = model.forward_last(&[*id], &mut cache).unwrap();
            let d = max_diff(&one, &all.get(i).unwrap());
            assert!(d < 1e-4, "{dtype:?}: position {i} differs by {d}");
        }
        // Two sequences of different lengths decoded as one batch (two rows
        // through the blocks) match each decoded alone.
        let (mut a, mut b) = (model.new_cache(), model.new_cache());
        model.forward_last(&IDS[..3], &mut a).unwrap();
        model.forward_last(&IDS[..6], &mut b).unwrap();
        let (mut a1, mut b1) = (model.new_cache(), model.new_cache());
        model.forward_last(&IDS[..3], &mut a1).unwrap();
        model.forward_last(&IDS[..6], &mut b1).unwrap();
        let both = model.forward_decode_batch(&[7, 9], &mut [&mut a, &mut b]).unwrap();
        let alone = [
            model.forward_last(&[7], &mut a1).unwrap(),
            model.forward_last(&[9], &mut b1).unwrap(),
        ];
        for (i, one) in alone.iter().enumerate() {
            let d = max_diff(&both.get(i).unwrap(), one);
            assert!(d < 1e-4, "{dtype:?}: batch row {i} differs by {d}");
        }
    }
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    tiny::write_hf_folder(&m, 1, 1).unwrap();
    std::fs::remove_file(m.join("tokenizer.json")).unwrap();
    let e = load_path(&m).err().unwrap().to_string();
    assert!(e.contains("tokenizer.json") && e.contains(&m.display().to_string()), "{e}");

    tiny::write_hf_folder(&m, 1, 1).unwrap();
    std::fs::remove_file(m.join("model.safetensors")).unwrap();
    let e = load_path(&m).err().unwrap().to_string();
    assert!(e.contains("*.safetensors"), "{e}");

    tiny::write_hf_folder(&m, 1, 2).unwrap();
    std::fs::remove_file(m.join("model-00002-of-00002.safetensors")).unwrap();
    let e = load_path(&m).err().unwrap().to_string();
    assert!(e.contains("model-00002-of-00002.safetensors"), "{e}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = load_path(&empty).err().unwrap().to_string();
    assert!(e.contains("config.json"), "{e}");

    let e = lathe_llm::load(&dir.path().join("nope").display().to_string()).err().unwrap();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    tiny::write_hf_folder(&m, 1, 1).unwrap();
    let mut w = tiny::weights(1).unwrap();
    w.remove("model.layers.1.mlp.up_proj.weight");
    candle_core::safetensors::save(&w, m.join("model.safetensors")).unwrap();
    let e = load_path(&m).err().unwrap().to_string();
    assert!(e.contains("model.layers.1.mlp.up_proj.weight") && e.contains("missing"), "{e}");
}

#[test]
fn unsupported_architectures_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    tiny::write_hf_folder(&m, 1, 1).unwrap();
    std::fs::write(m.join("config.json"), r#"{"architectures": ["Qwen3MoeForCausalLM"]}"#).unwrap();
    let e = load_path(&m).err().unwrap();
    assert!(matches!(e, Error::UnsupportedArchitecture { .. }));
    assert!(e.to_string().contains("Qwen3MoeForCausalLM"), "{e}");

    // A GGUF that declares another architecture.
    let path = dir.path().join("x.gguf");
    tiny::write_gguf(&path, 1, GgmlDType::F32).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(5).position(|w| w == b"llama").unwrap();
    let mut patched = bytes.clone();
    patched[at..at + 5].copy_from_slice(b"phi2x");
    std::fs::write(&path, patched).unwrap();
    let e = load_path(&path).err().unwrap().to_string();
    assert!(e.contains("phi2x") && e.contains("unsupported architecture"), "{e}");
}

/// A Qwen2 folder loads with its query/key/value biases, which change the
/// logits; the training pass computes the same logits; sliding-window
/// attention is refused by name. (transformers' own Qwen2 logits are
/// checked in `peft_interop.rs`.)
#[test]
fn a_qwen2_folder_runs_with_its_attention_biases() {
    use candle_core::{DType, Device, Tensor};
    use lathe_llm::lora::{Adapters, LoraConfig, Target};
    use lathe_llm::train::TrainModel;

    let dir = tempfile::tempdir().unwrap();
    let (qwen, llama) = (dir.path().join("qwen2"), dir.path().join("llama"));
    tiny::write_qwen2_hf_folder(&qwen, 4).unwrap();
    tiny::write_hf_folder(&llama, 4, 1).unwrap();
    let ids = [0u32, 259, 260, 40, 41, 42, 1];
    let q = load_path(&qwen).unwrap();
    let model = q.engine.model();
    assert!(model.config().attention_bias);
    let with_bias = model.forward_all(&ids, &mut model.new_cache()).unwrap();
    let l = load_path(&llama).unwrap();
    let without = l.engine.model().forward_all(&ids, &mut l.engine.model().new_cache()).unwrap();
    assert!(max_diff(&with_bias, &without) > 1e-2, "the biases must change the logits");
    let lora =
        LoraConfig { rank: 2, alpha: 4.0, dropout: 0.0, targets: vec![Target::Q, Target::V] };
    let adapters = Adapters::init(lora, model.config(), DType::F32, &Device::Cpu, 1).unwrap();
    let train = TrainModel::new(model, adapters, DType::F32).unwrap();
    let logits = train.forward(&Tensor::new(&[ids], &Device::Cpu).unwrap(), None).unwrap();
    let d = max_diff(&logits.squeeze(0).unwrap(), &with_bias);
    assert!(d < 1e-4, "the training pass differs from inference by {d}");

    let config = std::fs::read_to_string(qwen.join("config.json")).unwrap();
    let sliding = config.replacen("{", r#"{"use_sliding_window": true,"#, 1);
    std::fs::write(qwen.join("config.json"), sliding).unwrap();
    let e = load_path(&qwen).err().unwrap().to_string();
    assert!(e.contains("use_sliding_window") && e.contains("not supported"), "{e}");
}
