//! `lathe.toml` pipelines: a project's data sources and steps (profile,
//! split, train, evaluate, register, promote) as a graph, each step
//! content-addressed so that an unchanged step is skipped and its outputs
//! reused (like DVC's or ZenML's step cache), and `--dry-run` says what
//! would run and why.
//!
//! This crate decides *what* runs; *how* a step of each kind runs is the
//! caller's [`StepExecutor`] (the CLI's, which trains, evaluates and talks
//! to the store).
//!
//! ```
//! use lathe_pipeline::{Cache, Pipeline, Plan, Action};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("rows.csv"), "x,y\n1,a\n2,b\n")?;
//! let file = dir.path().join("lathe.toml");
//! std::fs::write(&file, r#"
//! [project]
//! name = "demo"
//! [data.rows]
//! path = "rows.csv"
//! target = "y"
//! [steps.split]
//! kind = "split"
//! data = "rows"
//! "#)?;
//! let pipeline = Pipeline::load(&file)?;
//! let cache = Cache::new(dir.path().join(".lathe/cache"));
//! let plan = Plan::new(&pipeline, &cache, None, false, "0.1.0")?;
//! assert!(matches!(plan.steps[0].action, Action::Run(_)));
//! # Ok(()) }
//! ```

mod cache;
mod config;
mod error;
mod graph;
mod plan;
mod run;

pub use cache::{file_digest, Cache, KeyParts, Manifest, CACHE_FORMAT};
pub use config::{DataSource, ProjectConfig, StepConfig, StepKind};
pub use error::{Error, Result};
pub use graph::{Data, Pipeline, Step};
pub use plan::{Action, Plan, Planned, Reason};
pub use run::{run, Event, Input, StepExecutor, StepOutcome, StepRun};

#[cfg(test)]
mod tests;
