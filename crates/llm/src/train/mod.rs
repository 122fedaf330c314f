//! LoRA fine-tuning: a differentiable forward pass ([`forward`]), supervised
//! data with loss on assistant tokens only ([`data`]), AdamW with warmup and
//! cosine decay ([`optim`]), sample generations at each evaluation
//! ([`samples`]), and the training loop with checkpoints ([`trainer`]).

pub mod data;
pub mod forward;
mod frozen;
mod fused;
mod head_loss;
pub mod optim;
pub mod samples;
pub mod trainer;

pub use forward::{masked_cross_entropy, AdapterGrads, Dropout, TrainModel};
pub use optim::{AdamW, AdamWParams};
pub use samples::Samples;
pub use trainer::{train, TrainConfig, TrainSummary};
