//! The committed reference values and the one comparison rule.

use serde_json::Value;

const REFERENCE: &str = include_str!("../../test_data/dataset_reference.json");

/// Relative tolerance the issue asks for.
pub const RELATIVE: f64 = 1e-9;

/// The whole fixture document.
pub fn doc() -> Value {
    serde_json::from_str(REFERENCE).unwrap()
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(num).collect()
}

/// A JSON array of non-negative integers.
pub fn indices(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| usize::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// A row-major matrix from an array of rows.
pub fn matrix(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().flat_map(floats).collect()
}

/// A JSON number.
pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `got` equals `want` within [`RELATIVE`] (absolute near zero).
pub fn close(what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= RELATIVE * scale,
        "{what}: lathe {got:e}, reference {want:e} (relative error {:e})",
        (got - want).abs() / scale
    );
}

/// Compares an optional value with a JSON number or `null`.
pub fn close_opt(what: &str, got: Option<f64>, want: &Value) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => close(what, g, w),
        (None, None) => {}
        (g, _) => panic!("{what}: lathe {g:?}, reference {want}"),
    }
}
