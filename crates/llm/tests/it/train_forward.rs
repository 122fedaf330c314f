//! The training forward pass: same logits as the inference model with fresh
//! adapters, and analytic gradients that match central differences for every
//! adapter matrix (no op silently drops the backward pass), the trainer's
//! hand-written backward pass and fused loss equal to candle's autograd
//! through the full logits, and gradient checkpointing that gives the same
//! gradients.

use candle_core::{DType, Device, Tensor, Var};
use lathe_core::SplitMix64;
use lathe_llm::lora::{Adapters, LoraConfig, Target};
use lathe_llm::train::{masked_cross_entropy, Dropout, TrainModel};
use lathe_llm::{tiny, Llama};

fn tiny_model(seed: u64) -> Llama {
    Llama::from_tensors(tiny::config(), tiny::weights(seed).unwrap(), "tiny".as_ref(), &Device::Cpu)
        .unwrap()
}

fn all_targets(rank: usize) -> LoraConfig {
    LoraConfig { rank, alpha: 2.0 * rank as f64, dropout: 0.0, targets: Target::ALL.to_vec() }
}

const IDS: [u32; 9] = [0, 259, 260, 40, 41, 42, 1, 200, 7];

#[test]
fn fresh_adapters_give_the_inference_models_logits() {
    let model = tiny_model(3);
    let reference = model.forward_all(&IDS, &mut model.new_cache()).unwrap();
    let adapters =
        Adapters::init(all_targets(4), model.config(), DType::F32, &Device::Cpu, 1).unwrap();
    let train = TrainModel::new(&model, adapters, DType::F32).unwrap();
    // Two rows: the second is the first shifted, right-padded, to show rows are independent.
    let ids = Tensor::new(&[IDS, [259, 260, 40, 41, 42, 1, 200, 7, 0]], &Device::Cpu).unwrap();
    let logits = train.forward(&ids, None).unwrap();
    assert_eq!(logits.dims(), &[2, IDS.len(), tiny::config().vocab_size]);
    let row0 = logits.get(0).unwrap();
    let d: f32 =
        (row0 - &reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
    assert!(d < 1e-4, "training forward differs from inference by {d}");
    let shifted = model.forward_all(&IDS[1..], &mut model.new_cache()).unwrap();
    let row1 = logits.get(1).unwrap().narrow(0, 0, IDS.len() - 1).unwrap();
    let d: f32 = (row1 - shifted).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
    assert!(d < 1e-4, "second row differs by {d}");
}

/// The loss the trainer computes (forward pass, fused head and loss).
fn loss(train: &TrainModel, ids: &Tensor, labels: &[i64]) -> f64 {
    train.eval_loss(ids, labels).unwrap().0
}

/// The same loss from the full logits, through candle's own ops.
fn unfused_loss(train: &TrainModel, ids: &Tensor, labels: &[i64]) -> Tensor {
    let logits = train.forward(ids, None).unwrap();
    masked_cross_entropy(&logits, labels).unwrap().0
}

/// Every adapter matrix set to Gaussian noise, the i-th scaled by `1 + i · growth`.
fn randomize(adapters: &Adapters, growth: f64) {
    for (i, (_, var)) in adapters.named_vars().iter().enumerate() {
        let t = var.as_tensor();
        let noise = (Tensor::randn(0.0, 0.2, t.shape(), &Device::Cpu).unwrap()
            * (1.0 + i as f64 * growth))
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        var.set(&noise).unwrap();
    }
}

/// Two rows of ids and their next-token labels, one masked position per row
/// as the data pipeline produces.
fn batch() -> (Tensor, Vec<i64>) {
    let ids =
        Tensor::new(&[[0u32, 259, 260, 40, 41, 42], [7, 8, 9, 10, 1, 0]], &Device::Cpu).unwrap();
    (ids, vec![-100, 260, 40, 41, 42, 1, 8, 9, 10, 1, 0, -100])
}

fn set_entry(var: &Var, index: usize, value: f64) {
    let shape = var.shape().clone();
    let mut data: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
    data[index] = value;
    var.set(&Tensor::from_vec(data, shape, &Device::Cpu).unwrap()).unwrap();
}

#[test]
fn gradients_of_every_adapter_match_central_differences() {
    let model = tiny_model(5);
    let adapters =
        Adapters::init(all_targets(2), model.config(), DType::F64, &Device::Cpu, 9).unwrap();
    // B starts at zero, which would make every gradient of A zero: give B values first.
    randomize(&adapters, 0.01);
    let train = TrainModel::new(&model, adapters, DType::F64).unwrap();
    let (ids, labels) = batch();
    // The trainer's gradients: its hand-written backward pass.
    let (_, _, grads) = train.loss_and_grads(&ids, &labels, 1.0, None).unwrap();
    let vars = train.adapters().named_vars();
    assert_eq!(vars.len(), 2 * 7 * tiny::config().num_hidden_layers);
    let eps = 1e-5;
    for (name, var) in &vars {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient reached {name}"));
        let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
        let norm: f64 = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(norm > 1e-8, "{name}: gradient is zero");
        let n = g.len();
        // The largest entry and two fixed ones.
        let largest = (0..n).max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs())).unwrap();
        for index in [0, n / 2, largest] {
            let x0: f64 = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap()[index];
            set_entry(var, index, x0 + eps);
            let up = loss(&train, &ids, &labels);
            set_entry(var, index, x0 - eps);
            let down = loss(&train, &ids, &labels);
            set_entry(var, index, x0);
            let numeric = (up - down) / (2.0 * eps);
            let err = (numeric - g[index]).abs();
            assert!(
                err <= 1e-6 + 1e-4 * numeric.abs(),
                "{name}[{index}]: analytic {} vs numeric {numeric}",
                g[index]
            );
        }
    }
}

#[test]
fn the_trainers_loss_and_gradients_equal_candle_autograd_through_the_full_logits() {
    let model = tiny_model(7);
    let adapters =
        Adapters::init(all_targets(2), model.config(), DType::F64, &Device::Cpu, 3).unwrap();
    // Small values, so no softmax saturates and every gradient is far from zero.
    randomize(&adapters, 0.01);
    let train = TrainModel::new(&model, adapters, DType::F64).unwrap();
    let (ids, labels) = batch();
    let reference = unfused_loss(&train, &ids, &labels);
    let reference_grads = reference.backward().unwrap();
    let (fused, count, grads) = train.loss_and_grads(&ids, &labels, 0.25, None).unwrap();
    assert_eq!(count, labels.iter().filter(|&&l| l >= 0).count());
    let (a, b) = (reference.to_scalar::<f64>().unwrap(), fused.to_scalar::<f64>().unwrap() * 4.0);
    assert!((a - b).abs() < 1e-12, "loss {a} vs fused {b}");
    let (eval, eval_count) = train.eval_loss(&ids, &labels).unwrap();
    assert!((eval - a).abs() < 1e-12 && eval_count == count, "eval loss {eval} vs {a}");
    for (name, var) in &train.adapters().named_vars() {
        let r = (reference_grads.get(var.as_tensor()).unwrap() * 0.25).unwrap();
        let f = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
        let scale: f64 = r.abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        let d: f64 = (&r - f).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(
            scale > 1e-8 && d <= 1e-10 * scale.max(1.0),
            "{name}: differs by {d} (scale {scale})"
        );
    }
    // A label past the vocabulary is refused, not read out of bounds.
    let mut bad = labels.clone();
    bad[1] = tiny::config().vocab_size as i64;
    let err = train.loss_and_grads(&ids, &bad, 1.0, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("outside the vocabulary"), "{err}");
}

#[test]
fn checkpointed_gradients_equal_the_full_backward_pass() {
    let model = tiny_model(6);
    let mut config = all_targets(2);
    config.targets = vec![Target::Q, Target::V, Target::Down];
    let adapters = Adapters::init(config, model.config(), DType::F64, &Device::Cpu, 4).unwrap();
    randomize(&adapters, 1.0);
    let train = TrainModel::new(&model, adapters, DType::F64).unwrap();
    let (ids, labels) = batch();
    // With dropout, so the recomputed blocks must replay the same masks.
    let (mut rng_full, mut rng_ckpt) = (SplitMix64::new(11), SplitMix64::new(11));
    // And candle's autograd through the logits, with the same masks.
    let mut rng_auto = SplitMix64::new(11);
    let logits = train.forward(&ids, Some(Dropout { p: 0.3, rng: &mut rng_auto })).unwrap();
    let auto = (masked_cross_entropy(&logits, &labels).unwrap().0 * 0.5).unwrap();
    let auto_grads = auto.backward().unwrap();
    let (full, full_count, full_grads) = train
        .loss_and_grads(&ids, &labels, 0.5, Some(Dropout { p: 0.3, rng: &mut rng_full }))
        .unwrap();
    let (ckpt, ckpt_count, ckpt_grads) = train
        .checkpointed_grads(&ids, &labels, 0.5, Some(Dropout { p: 0.3, rng: &mut rng_ckpt }))
        .unwrap();
    assert_eq!(full_count, ckpt_count);
    let (a, b) = (full.to_scalar::<f64>().unwrap(), ckpt.to_scalar::<f64>().unwrap());
    assert!((a - b).abs() < 1e-12, "loss {a} vs {b}");
    // The generator ends where one forward pass leaves it.
    assert_eq!(rng_full.next_u64(), rng_ckpt.next_u64());
    let vars = train.adapters().named_vars();
    assert_eq!(vars.len(), 2 * 3 * tiny::config().num_hidden_layers);
    for (name, var) in &vars {
        let f = full_grads.get(var.as_tensor()).unwrap();
        let r = auto_grads.get(var.as_tensor()).unwrap();
        let d: f64 = (f - r).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(d <= 1e-10, "{name}: hand-written and autograd gradients differ by {d}");
        let c = ckpt_grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
        let scale: f64 = f.abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        let d: f64 = (f - c).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(
            scale > 1e-8 && d <= 1e-10 * scale.max(1.0),
            "{name}: differs by {d} (scale {scale})"
        );
    }
}
