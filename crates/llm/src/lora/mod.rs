//! LoRA adapters on the projections of a Llama decoder: `W x + (alpha / r) · B (A x)`,
//! with A `[r, in]` drawn as PEFT draws it and B `[out, r]` zero, so a fresh
//! adapter leaves the base model's output unchanged.
//!
//! Only A and B are [`Var`]s; the base weights stay plain tensors, so the
//! backward pass produces gradients for the adapters alone.

pub mod merge;
pub mod peft;

use std::collections::BTreeMap;

pub use candle_core::DType;
use candle_core::{Device, Tensor, Var};
use lathe_core::SplitMix64;

use crate::config::LlamaConfig;
use crate::error::{Error, Result};

/// A projection of a decoder block that can carry an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Attention query.
    Q,
    /// Attention key.
    K,
    /// Attention value.
    V,
    /// Attention output.
    O,
    /// MLP gate.
    Gate,
    /// MLP up.
    Up,
    /// MLP down.
    Down,
}

impl Target {
    /// Every target, in the block's order.
    pub const ALL: [Target; 7] =
        [Target::Q, Target::K, Target::V, Target::O, Target::Gate, Target::Up, Target::Down];

    /// PEFT's module name (`q_proj`, …).
    pub fn name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// The module's path inside a block (`self_attn.q_proj`, `mlp.down_proj`).
    pub fn path(self) -> &'static str {
        match self {
            Target::Q => "self_attn.q_proj",
            Target::K => "self_attn.k_proj",
            Target::V => "self_attn.v_proj",
            Target::O => "self_attn.o_proj",
            Target::Gate => "mlp.gate_proj",
            Target::Up => "mlp.up_proj",
            Target::Down => "mlp.down_proj",
        }
    }

    /// Parses a module name (`q_proj`, or `q`).
    pub fn parse(name: &str) -> Result<Target> {
        let name = name.trim();
        Target::ALL.into_iter().find(|t| t.name() == name || t.name() == format!("{name}_proj")).ok_or_else(|| {
            Error::InvalidParameter {
                param: "targets",
                problem: format!(
                    "unknown module '{name}': expected some of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
                ),
            }
        })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(list: &str) -> Result<Vec<Target>> {
        let mut out: Vec<Target> = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Target::parse)
            .collect::<Result<_>>()?;
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(Error::InvalidParameter { param: "targets", problem: "is empty".into() });
        }
        Ok(out)
    }

    /// `(in, out)` features of this projection in a model.
    pub fn dims(self, c: &LlamaConfig) -> (usize, usize) {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let kv = c.num_key_value_heads * c.head_dim();
        match self {
            Target::Q | Target::O => (h, h),
            Target::K | Target::V => (h, kv),
            Target::Gate | Target::Up => (h, i),
            Target::Down => (i, h),
        }
    }
}

/// The hyper-parameters of an adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    /// Rank r.
    pub rank: usize,
    /// Scale numerator: the update is multiplied by `alpha / rank`.
    pub alpha: f64,
    /// Dropout on the adapter's input during training.
    pub dropout: f64,
    /// The projections that carry an adapter.
    pub targets: Vec<Target>,
}

impl LoraConfig {
    /// `alpha / rank`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    /// Refuses a zero rank, a dropout outside [0, 1) and no targets.
    pub fn validate(&self) -> Result<()> {
        let bad = |param, problem: String| Err(Error::InvalidParameter { param, problem });
        if self.rank == 0 {
            return bad("rank", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        if !self.alpha.is_finite() {
            return bad("alpha", format!("{} is not finite", self.alpha));
        }
        if self.targets.is_empty() {
            return bad("targets", "is empty".into());
        }
        Ok(())
    }
}

/// The two trainable matrices of one adapted projection.
pub struct LoraPair {
    /// `[r, in]`.
    pub a: Var,
    /// `[out, r]`.
    pub b: Var,
}

/// Every adapter of a model: for each layer, the adapted projections.
pub struct Adapters {
    config: LoraConfig,
    layers: Vec<BTreeMap<Target, LoraPair>>,
}

impl Adapters {
    /// Fresh adapters: A uniform in ±1/√in (PEFT's kaiming-uniform with a = √5), B zero.
    pub fn init(
        config: LoraConfig,
        model: &LlamaConfig,
        dtype: DType,
        device: &Device,
        seed: u64,
    ) -> Result<Adapters> {
        config.validate()?;
        let mut rng = SplitMix64::new(seed);
        let r = config.rank;
        let mut layers = Vec::with_capacity(model.num_hidden_layers);
        for _ in 0..model.num_hidden_layers {
            let mut map = BTreeMap::new();
            for &t in &config.targets {
                let (fan_in, out) = t.dims(model);
                let bound = 1.0 / (fan_in as f64).sqrt();
                let a: Vec<f64> =
                    (0..r * fan_in).map(|_| (uniform(&mut rng) * 2.0 - 1.0) * bound).collect();
                let a = Tensor::from_vec(a, (r, fan_in), device)?.to_dtype(dtype)?;
                let b = Tensor::zeros((out, r), dtype, device)?;
                map.insert(t, LoraPair { a: Var::from_tensor(&a)?, b: Var::from_tensor(&b)? });
            }
            layers.push(map);
        }
        Ok(Adapters { config, layers })
    }

    /// Adapters from tensors under PEFT's names, shapes checked against `model`.
    pub fn from_named(
        config: LoraConfig,
        model: &LlamaConfig,
        tensors: &BTreeMap<String, Tensor>,
        dtype: DType,
        source: &std::path::Path,
    ) -> Result<Adapters> {
        config.validate()?;
        let r = config.rank;
        let mut layers = Vec::with_capacity(model.num_hidden_layers);
        for l in 0..model.num_hidden_layers {
            let mut map = BTreeMap::new();
            for &t in &config.targets {
                let (fan_in, out) = t.dims(model);
                let get = |which: &str, shape: [usize; 2]| -> Result<Var> {
                    let name = peft_name(l, t, which);
                    let x = tensors.get(&name).ok_or_else(|| Error::Weight {
                        path: source.to_owned(),
                        name: name.clone(),
                        problem: "is missing".into(),
                    })?;
                    if x.dims() != shape {
                        return Err(Error::Weight {
                            path: source.to_owned(),
                            name,
                            problem: format!("has shape {:?}, expected {shape:?}", x.dims()),
                        });
                    }
                    Ok(Var::from_tensor(&x.to_dtype(dtype)?)?)
                };
                map.insert(
                    t,
                    LoraPair { a: get("lora_A", [r, fan_in])?, b: get("lora_B", [out, r])? },
                );
            }
            layers.push(map);
        }
        Ok(Adapters { config, layers })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LoraConfig {
        &self.config
    }

    /// The adapter of projection `target` in layer `layer`, if it has one.
    pub fn get(&self, layer: usize, target: Target) -> Option<&LoraPair> {
        self.layers.get(layer)?.get(&target)
    }

    /// Every trainable matrix under its PEFT name, in a fixed (sorted) order.
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let mut out: Vec<(String, &Var)> = Vec::new();
        for (l, map) in self.layers.iter().enumerate() {
            for (&t, pair) in map {
                out.push((peft_name(l, t, "lora_A"), &pair.a));
                out.push((peft_name(l, t, "lora_B"), &pair.b));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Trainable parameters in all.
    pub fn parameter_count(&self) -> usize {
        self.named_vars().iter().map(|(_, v)| v.elem_count()).sum()
    }
}

/// PEFT's name of an adapter matrix: `base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight`.
pub fn peft_name(layer: usize, target: Target, which: &str) -> String {
    format!("base_model.model.model.layers.{layer}.{}.{which}.weight", target.path())
}

/// A uniform draw in [0, 1) with 53 bits.
pub(crate) fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}
