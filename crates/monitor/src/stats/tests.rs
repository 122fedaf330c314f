//! Every statistic against the values SciPy (through Evidently's own test
//! functions, where there is one) computed on the same inputs:
//! `test_data/scipy_reference.json`, made by `test_data/make_scipy_reference.py`.

use serde_json::Value;

use super::*;
use crate::{CategoricalColumn, NumericColumn};

const REFERENCE: &str = include_str!("../../test_data/scipy_reference.json");

fn doc() -> Value {
    serde_json::from_str(REFERENCE).unwrap()
}

fn f(v: &Value) -> f64 {
    // JSON has no infinity: the fixture writes it as the string "inf".
    match v.as_str() {
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        _ => v.as_f64().unwrap(),
    }
}

/// Relative 1e-12, or absolute 1e-300 for results that are 0; "inf" equal to inf.
fn check(what: &str, got: f64, want: f64, rel: f64) {
    if want.is_infinite() || got.is_infinite() {
        assert_eq!(got, want, "{what}");
        return;
    }
    let tol = rel * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, SciPy {want:e}, rel {:e}",
        (got - want).abs() / want.abs()
    );
}

fn column(case: &Value, side: &str) -> Column {
    let values = case[side].as_array().unwrap();
    if case["kind"] == "cat" {
        return Column::Categorical(CategoricalColumn::from_values(
            values.iter().map(|v| Some(v.as_str().unwrap())),
        ));
    }
    let scale = case["scale"].as_f64();
    let numbers = values
        .iter()
        .map(|v| {
            let i = v.as_i64().unwrap() as f64;
            scale.map_or(i, |s| i / s)
        })
        .collect();
    Column::Numerical(NumericColumn::new(numbers, case["integer"].as_bool().unwrap()))
}

#[test]
fn every_test_on_every_column_case_matches_evidently_and_scipy() {
    let doc = doc();
    let mut checked = 0;
    for case in doc["columns"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (r, c) = (column(case, "reference"), column(case, "current"));
        for (method, want) in case["expected"].as_object().unwrap() {
            let m: Method = method.parse().unwrap();
            let got = run(m, name, &r, &c).unwrap();
            let what = format!("{name} {method}");
            check(&format!("{what} score"), got.score, f(&want["score"]), 1e-12);
            // z's statistic sign depends on which category is first; SciPy and we sort the same way.
            check(&format!("{what} statistic"), got.statistic, f(&want["statistic"]), 1e-12);
            checked += 1;
        }
    }
    assert!(checked > 70, "only {checked} checks");
}

fn formula(spec: &Value) -> Vec<f64> {
    let s: Vec<f64> = spec.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (mult, add, modulus, count, factor) =
        (s[0] as i64, s[1] as i64, s[2] as i64, s[3] as i64, s[4]);
    let mut v: Vec<f64> =
        (0..count).map(|i| ((i * mult + add) % modulus) as f64 / modulus as f64 * factor).collect();
    v.sort_unstable_by(f64::total_cmp);
    v
}

#[test]
fn ks_exact_and_asymptotic_p_values_match_scipy() {
    for case in doc()["formula_ks"].as_array().unwrap() {
        let (a, b) = (formula(&case["a"]), formula(&case["b"]));
        let got = ks::ks_2samp(&a, &b);
        let name = case["name"].as_str().unwrap();
        check(&format!("{name} D"), got.statistic, f(&case["statistic"]), 1e-12);
        check(&format!("{name} p"), got.score, f(&case["pvalue"]), 1e-9);
    }
}

fn grid(key: &str) -> Vec<Vec<f64>> {
    doc()[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(f).collect())
        .collect()
}

#[test]
fn kolmogorov_distribution_matches_kstwo_sf() {
    for row in grid("kstwo_sf") {
        let (n, x, want) = (row[0] as u64, row[1], row[2]);
        // SciPy evaluates parts of this in double-double; 1e-9 is far inside the 1e-6 we promise.
        check(&format!("kstwo.sf({x}, {n})"), kolmogorov::kolmogn_sf(n, x), want, 1e-9);
    }
}

#[test]
fn smirnov_tail_matches_scipy() {
    for row in grid("smirnov_sf") {
        let (n, x, want) = (row[0] as u64, row[1], row[2]);
        check(&format!("smirnov({n}, {x})"), kolmogorov::smirnov_sf(n, x), want, 1e-10);
    }
}

#[test]
fn chi2_survival_and_normal_cdf_match_scipy() {
    for row in grid("chi2_sf") {
        check(
            &format!("chi2.sf({}, {})", row[1], row[0]),
            special::chi2_sf(row[0], row[1]),
            row[2],
            1e-12,
        );
    }
    for row in grid("ndtr") {
        check(&format!("norm.cdf({})", row[0]), special::ndtr(row[0]), row[1], 1e-14);
    }
}

#[test]
fn sturges_edges_match_numpy() {
    for case in doc()["sturges_edges"].as_array().unwrap() {
        let got = binning::sturges_edges(
            f(&case["min"]),
            f(&case["max"]),
            case["size"].as_u64().unwrap() as usize,
            case["integer"].as_bool().unwrap(),
        );
        let want: Vec<f64> = case["edges"].as_array().unwrap().iter().map(f).collect();
        assert_eq!(got, want, "{case}");
    }
}
