//! Classification metrics: binary ones at a threshold over 0/1 labels
//! ([`binary`]), threshold curves ([`curves`]), calibration
//! ([`calibration`]) and everything at once for binary and multiclass
//! targets ([`multiclass`]).

pub mod binary;
pub mod calibration;
pub mod curves;
pub mod multiclass;
