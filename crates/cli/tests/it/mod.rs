//! Modules of the end-to-end suite.

mod cli;
mod compat;
mod crash;
mod data;
mod drift;
mod drift_parquet;
pub(crate) mod harness;
mod llm_finetune;
mod llm_openai;
mod monitoring;
mod monitoring_tasks;
#[cfg(feature = "onnx")]
mod onnx;
mod pipeline_run;
mod predict;
mod quickstart;
mod quickstart_loop;
mod reference_profile;
mod remote_artifacts;
mod retrain_server;
mod rollback;
mod serve;
mod tidy;
mod train;
mod train_bad_input;
mod ui;
