//! Modules of the end-to-end suite.

mod cli;
mod compat;
mod crash;
mod data;
mod drift;
pub(crate) mod harness;
mod monitoring;
mod llm_openai;
mod llm_finetune;
mod quickstart;
mod reference_profile;
mod rollback;
mod serve;
mod tidy;
mod ui;
