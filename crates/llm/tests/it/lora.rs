//! The LoRA forward pass on the tiny model: with B = 0 it reproduces the
//! inference logits, and for every adapter the analytic gradient of the
//! loss agrees with a central finite difference (f64), so no op silently
//! drops the backward pass.

use candle_core::{DType, Tensor};
use lathe_llm::lora::{LoraModel, TARGETS};
use lathe_llm::{load_path, tiny};

const IDS: [u32; 10] = [0, 259, 260, 40, 41, 42, 1, 200, 7, 33];

fn base() -> (tempfile::TempDir, lathe_llm::LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    tiny::write_hf_folder(dir.path(), 21, 1).unwrap();
    let m = load_path(dir.path()).unwrap();
    (dir, m)
}

#[test]
fn with_zero_b_the_training_forward_equals_inference() {
    let (_d, m) = base();
    let model = m.engine.model();
    let want = model.forward_all(&IDS, &mut model.new_cache()).unwrap();
    let lora = LoraModel::new(model, &["q_proj", "v_proj"], 4, 8.0, 1, DType::F32).unwrap();
    let got = lora.forward(&IDS).unwrap();
    let d: f32 = (got - want)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(d < 1e-4, "{d}");
}

#[test]
fn gradients_reach_every_adapter_and_match_finite_differences() {
    let (_d, m) = base();
    let lora = LoraModel::new(m.engine.model(), &TARGETS, 2, 4.0, 3, DType::F64).unwrap();
    assert_eq!(lora.adapters.len(), 2 * TARGETS.len());
    // B starts at zero (so A's gradient would be zero): give it values first.
    for (i, ad) in lora.adapters.values().enumerate() {
        let shape = ad.b.as_tensor().shape().clone();
        let n = shape.elem_count();
        let vals: Vec<f64> =
            (0..n).map(|k| (((k * 7 + i * 13) % 17) as f64 - 8.0) * 0.01).collect();
        ad.b.set(&Tensor::from_vec(vals, shape, &candle_core::Device::Cpu).unwrap()).unwrap();
    }
    let loss = lora.loss(&IDS).unwrap();
    let grads = loss.backward().unwrap();
    let eps = 1e-6;
    for ((layer, target), ad) in &lora.adapters {
        for (which, var) in [("A", &ad.a), ("B", &ad.b)] {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient reached {layer}.{target}.{which}"));
            let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
            assert!(g.iter().any(|x| x.abs() > 1e-8), "zero gradient at {layer}.{target}.{which}");
            let original = var.as_tensor().copy().unwrap();
            let flat: Vec<f64> = original.flatten_all().unwrap().to_vec1().unwrap();
            // Three elements of each matrix: first, middle, last.
            for idx in [0, flat.len() / 2, flat.len() - 1] {
                let at = |delta: f64| {
                    let mut v = flat.clone();
                    v[idx] += delta;
                    var.set(&Tensor::from_vec(v, original.shape(), original.device()).unwrap())
                        .unwrap();
                    lora.loss(&IDS).unwrap().to_scalar::<f64>().unwrap()
                };
                let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                var.set(&original).unwrap();
                let analytic = g[idx];
                let tol = 1e-6 + 1e-4 * analytic.abs().max(numeric.abs());
                assert!(
                    (numeric - analytic).abs() < tol,
                    "{layer}.{target}.{which}[{idx}]: analytic {analytic:e}, numeric {numeric:e}"
                );
            }
        }
    }
}
