//! `lathe predict` in chunks (`--chunk-rows`): the output equals the
//! single-chunk output byte for byte (CSV) or value for value (Parquet),
//! quoted fields spanning lines do not break the chunking, a bad cell past
//! the first chunk is reported with its line in the whole file, and a
//! column that is empty throughout the first chunk is read like the others.

use std::path::{Path, PathBuf};

use polars::prelude::{ParquetReader, SerReader};

use super::train::{find_dir, Workspace};

/// Rows in the scored tables: several chunks of 1000.
const ROWS: usize = 4321;

/// A deterministic pseudo-random number in [0, 1).
fn noise(i: usize, salt: u64) -> f64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Categories, one with a comma and one spanning two lines (quoted).
const KINDS: [&str; 4] = ["plain", "\"with, comma\"", "\"two\nlines\"", "other"];

/// `x` (integers), `z` (floats), `c` (categories), `y` (yes/no); `cell`
/// may replace the x cell of row i.
fn table(rows: usize, cell: impl Fn(usize, String) -> String) -> String {
    let mut s = String::from("x,z,c,y\n");
    for i in 0..rows {
        let x = (noise(i, 1) * 50.0) as i64;
        let z = noise(i, 2) * 10.0 - 5.0;
        let k = (noise(i, 3) * 4.0) as usize;
        let score = x as f64 / 25.0 + z / 5.0 + [0.0, 1.0, -1.0, 0.5][k] + noise(i, 4) * 1.5;
        let y = if score > 1.5 { "yes" } else { "no" };
        s.push_str(&format!("{},{z:.4},{},{y}\n", cell(i, x.to_string()), KINDS[k]));
    }
    s
}

/// The 1-based line on which row `row` (0-based) of `text` starts.
fn line_of(text: &str, row: usize) -> usize {
    let mut records = 0;
    let mut quoted = false;
    for (i, line) in text.lines().enumerate().skip(1) {
        if !quoted {
            if records == row {
                return i + 1;
            }
            records += 1;
        }
        quoted ^= line.matches('"').count() % 2 == 1;
    }
    panic!("no row {row}");
}

/// Trains on a table like the scored ones; returns the model folder.
fn model(ws: &Workspace) -> PathBuf {
    let data = ws.dir.path().join("train.csv");
    std::fs::write(&data, table(2000, |_, x| x)).unwrap();
    let out = ws.run(&["train", "--data", data.to_str().unwrap(), "--target", "y"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run_id = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_string();
    find_dir(&ws.artifacts(), &run_id).join("artifacts/model")
}

/// `lathe predict`, asserting success unless `fails`; returns stderr.
fn predict(ws: &Workspace, model: &Path, data: &Path, out: &Path, chunk: Option<&str>) -> String {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(rows) = chunk {
        args.extend(["--chunk-rows", rows]);
    }
    let out = ws.run(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.success(), !err.contains("error"), "{err}");
    err
}

fn parquet(path: &Path) -> polars::prelude::DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

#[test]
fn predict_in_chunks_equals_one_chunk_for_csv_and_parquet() {
    let ws = Workspace::new();
    let model = model(&ws);
    let data = ws.dir.path().join("score.csv");
    std::fs::write(&data, table(ROWS, |_, x| x)).unwrap();
    let dir = ws.dir.path();

    let err = predict(&ws, &model, &data, &dir.join("one.csv"), None);
    assert!(err.contains(&format!("wrote {ROWS} predictions")), "{err}");
    predict(&ws, &model, &data, &dir.join("many.csv"), Some("1000"));
    let one = std::fs::read_to_string(dir.join("one.csv")).unwrap();
    let many = std::fs::read_to_string(dir.join("many.csv")).unwrap();
    assert_eq!(one.lines().next(), Some("prediction,proba_no,proba_yes"));
    assert_eq!(one.lines().count(), ROWS + 1);
    assert!(one == many, "chunked CSV differs from the single chunk");
    assert!(one.contains("\nyes,") && one.contains("\nno,"), "both classes are predicted");

    predict(&ws, &model, &data, &dir.join("one.parquet"), None);
    predict(&ws, &model, &data, &dir.join("many.parquet"), Some("1000"));
    let (one_pq, many_pq) = (parquet(&dir.join("one.parquet")), parquet(&dir.join("many.parquet")));
    assert_eq!(many_pq.height(), ROWS);
    assert!(one_pq.equals_missing(&many_pq), "{one_pq}\n{many_pq}");
    // The Parquet holds the very values of the CSV, in the same order.
    let labels: Vec<&str> = one.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let column = many_pq.column("prediction").unwrap().str().unwrap().clone();
    let from_parquet: Vec<&str> = column.iter().map(Option::unwrap).collect();
    assert_eq!(labels, from_parquet);
}

#[test]
fn predict_reports_a_bad_cell_past_the_first_chunk_with_its_line_in_the_file() {
    let ws = Workspace::new();
    let model = model(&ws);
    let text = table(ROWS, |i, x| if i == 2500 { "oops".into() } else { x });
    let line = line_of(&text, 2500);
    assert!(line > 2502, "quoted newlines put row 2500 further down, at line {line}");
    let data = ws.dir.path().join("bad.csv");
    std::fs::write(&data, &text).unwrap();
    let out = ws.dir.path().join("bad_out.csv");
    let err = predict(&ws, &model, &data, &out, Some("1000"));
    assert!(
        err.contains(&format!("bad.csv: line {line}, column \"x\": \"oops\" is not a number")),
        "{err}"
    );
    assert!(!out.exists(), "no half-written output is left behind");

    let text = table(ROWS, |i, x| if i == 2999 { format!("{x},extra") } else { x });
    std::fs::write(&data, &text).unwrap();
    let err = predict(&ws, &model, &data, &out, Some("1000"));
    let line = line_of(&text, 2999);
    assert!(err.contains(&format!("bad.csv: line {line} has 5 fields; expected 4")), "{err}");
}

#[test]
fn predict_reads_a_column_empty_in_the_first_chunk_like_the_others() {
    let ws = Workspace::new();
    let model = model(&ws);
    // x is missing throughout the first chunk, integers in the second, floats after.
    let text = table(ROWS, |i, x| match i {
        0..1000 => String::new(),
        1000..2000 => x,
        _ => format!("{x}.5"),
    });
    let data = ws.dir.path().join("late.csv");
    std::fs::write(&data, &text).unwrap();
    let dir = ws.dir.path();
    predict(&ws, &model, &data, &dir.join("one.csv"), None);
    predict(&ws, &model, &data, &dir.join("many.csv"), Some("1000"));
    let one = std::fs::read_to_string(dir.join("one.csv")).unwrap();
    let many = std::fs::read_to_string(dir.join("many.csv")).unwrap();
    assert_eq!(many.lines().count(), ROWS + 1);
    assert!(one == many, "chunked CSV differs from the single chunk");
    // Against the same rows with x missing everywhere: the first chunk scores
    // alike, the later ones use x.
    let blank = ws.dir.path().join("blank.csv");
    std::fs::write(&blank, table(ROWS, |_, _| String::new())).unwrap();
    predict(&ws, &model, &blank, &dir.join("blank_out.csv"), Some("1000"));
    let without = std::fs::read_to_string(dir.join("blank_out.csv")).unwrap();
    let (with, without): (Vec<&str>, Vec<&str>) =
        (many.lines().collect(), without.lines().collect());
    assert_eq!(with[..1001], without[..1001]);
    let changed = (1001..=ROWS).filter(|&i| with[i] != without[i]).count();
    assert!(changed > ROWS / 4, "only {changed} rows changed once x is read");
}
