//! Integration tests of the `llm` crate on tiny random models written by
//! `lathe_llm::tiny`, and on the real SmolLM2 when it has been fetched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adapters;
mod batch;
mod generate;
mod load;
mod minilm;
mod peft_interop;
mod smollm2;
mod train_data;
mod train_forward;
mod train_loop;
