//! `lathe monitor drift` against Evidently: on the shared generator's data
//! (seed 42 at 1,000 and 100,000 rows, compared with
//! `../shared/bench/drift/reference/evidently_*.json`; other seeds and sizes
//! compared with `crates/monitor/test_data/evidently_other_seeds.json`), the
//! corrected mode, and bad input.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use super::harness::{lathe, python, shared};

/// Scores agree within this relative error, or this absolute one near 0.
const REL: f64 = 1e-6;
const ABS_NEAR_ZERO: f64 = 1e-12;

/// The generator's CSVs for (rows, seed) in `dir`; `None` (the test says it
/// skips) without a Python with numpy and pandas or without `../shared`.
fn generate(rows: usize, seed: u64, dir: &Path) -> Option<(PathBuf, PathBuf)> {
    generate_as(rows, seed, dir, "csv")
}

/// The generator's files in `format` (`csv` or `parquet`).
pub(super) fn generate_as(
    rows: usize,
    seed: u64,
    dir: &Path,
    format: &str,
) -> Option<(PathBuf, PathBuf)> {
    let script = shared().join("bench/drift/gen_drift_data.py");
    if !script.exists() {
        eprintln!("skipping: {} is absent", script.display());
        return None;
    }
    let Some(python) = python() else {
        eprintln!("skipping: no Python (set LATHE_TEST_PYTHON or run .ci/run once)");
        return None;
    };
    let modules = if format == "parquet" { "numpy, pandas, pyarrow" } else { "numpy, pandas" };
    let probe = Command::new(&python).args(["-c", &format!("import {modules}")]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipping: {} lacks one of {modules}", python.display());
        return None;
    }
    let out = Command::new(&python)
        .arg(&script)
        .args(["--rows", &rows.to_string(), "--seed", &seed.to_string(), "--format", format])
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "generator failed: {}", String::from_utf8_lossy(&out.stderr));
    Some((dir.join(format!("reference.{format}")), dir.join(format!("current.{format}"))))
}

/// Runs `lathe monitor drift` and returns its JSON report.
pub(super) fn drift(reference: &Path, current: &Path, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = lathe()
        .args(["monitor", "drift", "--reference"])
        .arg(reference)
        .arg("--current")
        .arg(current)
        .arg("--json")
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lathe monitor drift failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

/// Compares every column's test, score and verdict; returns (matching, total, worst relative error).
pub(super) fn compare(what: &str, report: &Value, expected: &Value) -> (usize, usize, f64) {
    let expected = expected.as_object().unwrap();
    let mut problems = Vec::new();
    let mut worst: f64 = 0.0;
    let mut matching = 0;
    for (name, want) in expected {
        let got = &report["columns"][name];
        let (gs, ws) = (got["score"].as_f64().unwrap(), want["score"].as_f64().unwrap());
        let score_ok = if ws.abs() < ABS_NEAR_ZERO {
            (gs - ws).abs() <= ABS_NEAR_ZERO
        } else {
            let rel = (gs - ws).abs() / ws.abs();
            worst = worst.max(rel);
            rel <= REL
        };
        let ok = got["method"] == want["method"]
            && got["drift"] == want["drift"]
            && got["threshold"].as_f64() == want["threshold"].as_f64()
            && score_ok;
        if ok {
            matching += 1;
        } else {
            problems.push(format!("{name}: lathe {got}, Evidently {want}"));
        }
    }
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
    assert_eq!(
        report["columns"].as_object().unwrap().len(),
        expected.len(),
        "{what}: column count"
    );
    eprintln!(
        "{what}: {matching}/{} columns match Evidently (method, score, verdict); worst relative score error {worst:.1e}",
        expected.len()
    );
    (matching, expected.len(), worst)
}

#[test]
fn drift_agrees_with_evidently_at_1000_and_100000_rows() {
    for rows in [1000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let Some((reference, current)) = generate(rows, 42, dir.path()) else { return };
        let report = drift(&reference, &current, &[]);
        let path = shared().join(format!("bench/drift/reference/evidently_{rows}.json"));
        let evidently: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        compare(&format!("seed 42, {rows} rows"), &report, &evidently["columns"]);
        assert_eq!(report["dataset_drift"], evidently["dataset_drift"]);
        assert_eq!(
            report["drift_share"].as_f64(),
            evidently["drifted_columns_count"]["share"].as_f64()
        );
    }
}

#[test]
fn drift_agrees_with_evidently_at_other_seeds_and_sizes() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../monitor/test_data/evidently_other_seeds.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let (rows, seed) = (case["rows"].as_u64().unwrap(), case["seed"].as_u64().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let Some((reference, current)) = generate(rows as usize, seed, dir.path()) else { return };
        let report = drift(&reference, &current, &[]);
        compare(&format!("seed {seed}, {rows} rows"), &report, &case["columns"]);
        assert_eq!(report["dataset_drift"], case["dataset_drift"]);
    }
}

fn drifted(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["columns"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["drift"] == true)
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn corrected_mode_flags_exactly_the_shifted_columns_at_1000_rows() {
    let dir = tempfile::tempdir().unwrap();
    let Some((reference, current)) = generate(1000, 42, dir.path()) else { return };
    let evidently = drift(&reference, &current, &[]);
    assert_eq!(drifted(&evidently), ["cat_2", "cat_3", "cat_4", "num_03", "num_07", "num_19"]);
    let corrected = drift(&reference, &current, &["--mode", "corrected"]);
    assert_eq!(drifted(&corrected), ["cat_2", "num_03", "num_07"]);
    assert_eq!(corrected["mode"], "corrected");
    assert_eq!(corrected["columns"]["cat_4"]["method"], "chisquare_homogeneity");
    assert!(corrected["columns"]["num_03"]["adjusted_score"].as_f64().unwrap() < 0.05);
}

/// Writes a small CSV file.
pub(super) fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs the command expecting a plain error (exit 1, no panic); returns stderr.
pub(super) fn fails(args: &[&str]) -> String {
    let out = lathe().args(["monitor", "drift"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: ") && !stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_input_is_a_plain_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = csv(d, "good.csv", "a,b\n1,x\n2,y\n3,x\n");
    let extra = csv(d, "extra.csv", "a,b,c\n1,x,5\n2,y,6\n");
    let empty = csv(d, "empty.csv", "");
    let header_only = csv(d, "header.csv", "a,b\n");
    let words = csv(d, "words.csv", "a,b\n1,x\nseven,y\n");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let missing = d.join("nope.csv");

    let e = fails(&["--reference", &s(&missing), "--current", &s(&good)]);
    assert!(e.contains("cannot open") && e.contains("nope.csv"), "{e}");
    let e = fails(&["--reference", &s(&good), "--current", &s(&extra)]);
    assert!(
        e.contains("schema drift") && e.contains("'c'") && e.contains("missing from the reference"),
        "{e}"
    );
    let e = fails(&["--reference", &s(&empty), "--current", &s(&good)]);
    assert!(e.contains("empty"), "{e}");
    let e = fails(&["--reference", &s(&header_only), "--current", &s(&good)]);
    assert!(e.contains("no rows"), "{e}");
    let e = fails(&["--reference", &s(&good), "--current", &s(&words), "--numerical", "a"]);
    assert!(e.contains("'seven' is not a number"), "{e}");
    let e = fails(&["--reference", &s(&good), "--current", &s(&good), "--test", "zz=ks"]);
    assert!(e.contains("'zz'"), "{e}");
    let e = fails(&["--reference", &s(&good), "--current", &s(&good), "--test", "b=ks"]);
    assert!(e.contains("numerical columns only"), "{e}");
    let e = fails(&["--reference", &s(&good), "--current", &s(&good), "--test", "a=ks:-1"]);
    assert!(e.contains("threshold"), "{e}");
    let all_missing = csv(d, "nan.csv", "a,b\nNA,x\n,y\n");
    let e = fails(&["--reference", &s(&good), "--current", &s(&all_missing)]);
    assert!(e.contains("'a'") && e.contains("no finite values"), "{e}");
}

#[test]
fn constant_columns_have_a_defined_result() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |n: usize, f: &dyn Fn(usize) -> String| -> String {
        let mut s = String::from("same,ref_constant,word\n");
        for i in 0..n {
            s.push_str(&f(i));
            s.push('\n');
        }
        s
    };
    // 1,500 rows: Evidently's large-data tests (Wasserstein, Jensen-Shannon).
    let reference = csv(dir.path(), "r.csv", &rows(1500, &|_| "4.5,2,on".to_string()));
    let current = csv(dir.path(), "c.csv", &rows(1500, &|i| format!("4.5,{},on", 2 + i % 7)));
    let report = drift(&reference, &current, &[]);
    let same = &report["columns"]["same"];
    assert_eq!(
        (same["method"].as_str(), same["score"].as_f64()),
        (Some("jensenshannon"), Some(0.0))
    );
    assert!(same["notes"][0].as_str().unwrap().starts_with("constant column"), "{same}");
    // Reference constant, current not: Wasserstein divided by the 0.001 floor, finite.
    let rc = &report["columns"]["ref_constant"];
    assert_eq!(rc["method"], "wasserstein");
    assert!(rc["score"].as_f64().unwrap().is_finite() && rc["drift"] == true, "{rc}");
    assert!(rc["notes"][0].as_str().unwrap().contains("0.001"), "{rc}");
    assert_eq!(report["columns"]["word"]["score"].as_f64(), Some(0.0));
    // Small data: both constant is Evidently's z-test special case, p = 1.
    let reference = csv(dir.path(), "r2.csv", &rows(50, &|_| "4.5,2,on".to_string()));
    let current = csv(dir.path(), "c2.csv", &rows(50, &|_| "4.5,2,on".to_string()));
    let report = drift(&reference, &current, &[]);
    for name in ["same", "ref_constant", "word"] {
        let c = &report["columns"][name];
        assert_eq!(
            (c["method"].as_str(), c["score"].as_f64(), &c["drift"]),
            (Some("z"), Some(1.0), &Value::Bool(false))
        );
    }
}

#[test]
fn type_flags_overrides_and_json_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = String::from("code,x\n");
    let mut c = String::from("code,x\n");
    for i in 0..300 {
        r.push_str(&format!("{},{}\n", i % 4, i));
        c.push_str(&format!("{},{}\n", (i + i / 100) % 4, i + 20));
    }
    let reference = csv(dir.path(), "r.csv", &r);
    let current = csv(dir.path(), "c.csv", &c);
    let report = drift(&reference, &current, &["--categorical", "code", "--test", "x=psi:0.2"]);
    assert_eq!(report["columns"]["code"]["type"], "cat");
    assert_eq!(report["columns"]["code"]["method"], "chisquare");
    assert_eq!(report["columns"]["x"]["method"], "psi");
    assert_eq!(report["columns"]["x"]["threshold"].as_f64(), Some(0.2));

    let out = lathe()
        .args(["monitor", "drift", "--json", "-", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&current)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["number_of_columns"], 2);
    assert_eq!(v["columns"]["code"]["type"], "num");

    let out = lathe()
        .args(["monitor", "drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&current)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("column  type  method"), "{table}");
    assert!(table.contains("dataset drift: "), "{table}");
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |shift: usize| -> String {
        let mut s = String::from("<b>x</b>,plain,colour\n");
        for i in 0..300 {
            s.push_str(&format!("{},{},c{}\n", (i * 7 + shift) % 50, i % 13, (i + shift) % 4));
        }
        s
    };
    let reference = csv(dir.path(), "r.csv", &rows(0));
    let current = csv(dir.path(), "c.csv", &rows(9));
    let html = dir.path().join("report.html");
    let out = lathe()
        .args(["monitor", "drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&current)
        .arg("--categorical")
        .arg("colour")
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..page.len().min(200)]);
    for name in ["&lt;b&gt;x&lt;/b&gt;", "plain", "colour"] {
        assert!(page.contains(name), "{name} missing");
    }
    assert!(!page.contains("<b>x</b>"), "the column name is not escaped");
    assert_eq!(page.matches("<svg").count(), 3, "one plot per column");
    let rest = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!rest.contains("http://") && !rest.contains("https://"), "external URL in the page");
    assert!(!rest.contains("<script") && !rest.contains("<link") && !rest.contains("src="));
    assert!(page.contains("Dataset drift") || page.contains("No dataset drift"));
}
