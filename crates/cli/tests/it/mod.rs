//! Modules of the end-to-end suite.

mod cli;
mod compat;
mod crash;
mod quickstart;
mod tidy;
pub(crate) mod harness;
