//! Bad input to `lathe train` and `lathe predict`: each one a message that
//! names the file, the line or column and what was expected, exit code 1,
//! and no panic.

use std::path::PathBuf;

use super::train::{find_dir, table, Workspace};

/// Writes `csv` as `name` in the workspace and trains on it with target `y`.
fn train_on(ws: &Workspace, name: &str, csv: &str) -> (i32, String) {
    let path = ws.dir.path().join(name);
    std::fs::write(&path, csv).unwrap();
    let out = ws.run(&["train", "--data", path.to_str().unwrap(), "--target", "y"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code().unwrap_or(-1), err)
}

/// A CSV of `n` rows: x numeric, c categorical, y two classes; `row` edits row i.
fn rows(n: usize, row: impl Fn(usize) -> String) -> String {
    let mut s = String::from("x,c,y\n");
    for i in 0..n {
        s.push_str(&row(i));
        s.push('\n');
    }
    s
}

fn good(i: usize) -> String {
    format!("{},{},{}", i % 17, ["a", "b", "c"][i % 3], ["yes", "no"][i % 2])
}

fn assert_refused(code: i32, err: &str, needles: &[&str]) {
    assert_eq!(code, 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn an_empty_file_is_refused() {
    let ws = Workspace::new();
    let (code, err) = train_on(&ws, "empty.csv", "");
    assert_refused(code, &err, &["empty.csv", "the file is empty", "expected a header"]);
}

#[test]
fn a_missing_target_column_names_the_columns_there_are() {
    let ws = Workspace::new();
    let (code, err) = train_on(&ws, "t.csv", &rows(40, good).replace("x,c,y", "x,c,label"));
    assert_refused(code, &err, &["t.csv", "column \"y\" not found", "x, c, label"]);
}

#[test]
fn a_target_with_one_class_is_refused() {
    let ws = Workspace::new();
    let (code, err) = train_on(&ws, "one.csv", &rows(40, |i| format!("{i},a,yes")));
    assert_refused(code, &err, &["one.csv", "target \"y\"", "expected at least two classes"]);
}

#[test]
fn an_all_null_column_is_dropped_with_a_warning() {
    let ws = Workspace::new();
    let csv = rows(80, |i| format!("{},,{}", i % 7, ["yes", "no"][i % 2]));
    let (code, err) = train_on(&ws, "null.csv", &csv);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: ") && err.contains("null.csv") && err.contains("\"c\""),
        "{err}"
    );
}

#[test]
fn a_word_in_a_numeric_column_names_its_line() {
    let ws = Workspace::new();
    let csv = rows(60, |i| if i == 30 { "abc,a,yes".into() } else { good(i) });
    let (code, err) = train_on(&ws, "word.csv", &csv);
    assert_refused(code, &err, &["word.csv", "line 32", "column \"x\"", "\"abc\" is not a number"]);
}

#[test]
fn a_ragged_row_names_its_line() {
    let ws = Workspace::new();
    let csv = rows(40, |i| if i == 9 { "1,a".into() } else { good(i) });
    let (code, err) = train_on(&ws, "ragged.csv", &csv);
    assert_refused(code, &err, &["ragged.csv", "line 11 has 2 fields", "expected 3"]);
}

#[test]
fn infinite_values_are_refused_and_nan_is_missing() {
    let ws = Workspace::new();
    let csv = rows(60, |i| if i == 4 { "inf,a,yes".into() } else { good(i) });
    let (code, err) = train_on(&ws, "inf.csv", &csv);
    assert_refused(code, &err, &["inf.csv", "column \"x\"", "infinite", "line 6"]);
    let csv = rows(60, |i| if i == 4 { "-inf,a,yes".into() } else { good(i) });
    let (code, err) = train_on(&ws, "ninf.csv", &csv);
    assert_refused(code, &err, &["ninf.csv", "infinite"]);

    let csv = rows(80, |i| {
        if i.is_multiple_of(10) {
            format!("NaN,a,{}", ["yes", "no"][i % 2])
        } else {
            good(i)
        }
    });
    let (code, err) = train_on(&ws, "nan.csv", &csv);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("NaN value(s), treated as missing"), "{err}");
}

#[test]
fn predict_names_a_column_the_data_lacks_and_warns_about_extra_ones() {
    let ws = Workspace::new();
    let data = table("penguins.csv");
    let out = ws.run(&["train", "--data", data.to_str().unwrap(), "--target", "species"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run_id = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_string();
    let model: PathBuf = find_dir(&ws.artifacts(), &run_id).join("artifacts/model");

    let lacking = ws.dir.path().join("lacking.csv");
    std::fs::write(&lacking, "island,bill_length_mm\nBiscoe,40.1\n").unwrap();
    let out_csv = ws.dir.path().join("o.csv");
    let out = ws.run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        lacking.to_str().unwrap(),
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lacking.csv") && err.contains("bill_depth_mm") && err.contains("lacks"),
        "{err}"
    );

    let extra = ws.dir.path().join("extra.csv");
    std::fs::write(
        &extra,
        "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year,colour\n\
         Biscoe,40.1,18.0,190,3900,male,2008,blue\n",
    )
    .unwrap();
    let out = ws.run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        extra.to_str().unwrap(),
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("extra.csv") && err.contains("colour"),
        "{err}"
    );
    let text = std::fs::read_to_string(&out_csv).unwrap();
    assert_eq!(text.lines().count(), 2);
}
