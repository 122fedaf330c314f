//! Modules of the end-to-end suite.

mod cli;
mod compat;
mod crash;
pub(crate) mod harness;
mod quickstart;
mod tidy;
