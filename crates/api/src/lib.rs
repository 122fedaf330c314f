//! MLflow's REST wire format: the JSON messages of `/api/2.0/mlflow/*`.
//!
//! Field names and shapes follow MLflow's protobuf definitions as MLflow
//! serializes them (snake_case, int64 as JSON numbers, `NaN`/`Infinity` as
//! strings). Requests are parsed leniently the way protobuf's JSON parser
//! is: integers may come as strings, and doubles as `"NaN"` or `"Infinity"`.
//! The server and the REST client both use these types, so they cannot
//! drift apart.

#![allow(missing_docs)] // Field names are MLflow's; their meaning is in MLflow's REST docs.

pub mod convert;
mod entities;
pub mod num;
mod requests;

pub use entities::*;
pub use requests::*;
