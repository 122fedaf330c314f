//! `lathe monitor drift` on Parquet files: the generator's own default
//! format gives the report its CSV gives (and Evidently's), either side can
//! be either format, and bad Parquet input is a plain error naming the file
//! and the column.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;

use super::drift::{compare, csv, drift, fails, generate_as};
use super::harness::shared;

#[test]
fn parquet_gives_the_csv_report_and_agrees_with_evidently() {
    let dir = tempfile::tempdir().unwrap();
    let Some((pq_ref, pq_cur)) = generate_as(100_000, 42, &dir.path().join("pq"), "parquet") else {
        return;
    };
    let Some((csv_ref, csv_cur)) = generate_as(100_000, 42, &dir.path().join("csv"), "csv") else {
        return;
    };
    let from_parquet = drift(&pq_ref, &pq_cur, &[]);
    let path = shared().join("bench/drift/reference/evidently_100000.json");
    let evidently: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    compare("parquet, seed 42, 100000 rows", &from_parquet, &evidently["columns"]);
    // The same doubles either way, so the same report to the last bit.
    assert_eq!(from_parquet, drift(&csv_ref, &csv_cur, &[]));
    // A Parquet reference against a CSV export, and the other way round.
    assert_eq!(from_parquet, drift(&pq_ref, &csv_cur, &[]));
    assert_eq!(from_parquet, drift(&csv_ref, &pq_cur, &[]));
    assert_eq!(from_parquet["columns"]["num_17"]["type"], "num");
    assert_eq!(from_parquet["columns"]["cat_2"]["drift"], true);
}

fn parquet(dir: &Path, name: &str, mut frame: DataFrame) -> PathBuf {
    let p = dir.join(name);
    ParquetWriter::new(std::fs::File::create(&p).unwrap()).finish(&mut frame).unwrap();
    p
}

#[test]
fn parquet_types_nulls_and_declared_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 60;
    let frame = |shift: i64| {
        let ints: Vec<i64> = (0..n).map(|i| (i + shift) % 5).collect();
        let floats: Vec<Option<f64>> = (0..n)
            .map(|i| if i % 10 == 0 { None } else { Some(i as f64 + shift as f64) })
            .collect();
        let words: Vec<Option<&str>> = (0..n)
            .map(|i| if i == 3 { None } else { Some(["a", "b", "c"][i as usize % 3]) })
            .collect();
        let flags: Vec<bool> = (0..n).map(|i| (i + shift) % 3 == 0).collect();
        let digits: Vec<String> = (0..n).map(|i| format!("{}", i * 2 + shift)).collect();
        df!("ints" => ints, "floats" => floats, "words" => words, "flags" => flags, "digits" => digits)
            .unwrap()
    };
    let r = parquet(d, "r.parquet", frame(0));
    let c = parquet(d, "c.parquet", frame(1));
    let report = drift(&r, &c, &["--numerical", "digits"]);
    let col = |name: &str| report["columns"][name].clone();
    // 60 rows: Evidently's small-data tests, chosen as from CSV.
    assert_eq!(
        (col("ints")["type"].as_str(), col("ints")["method"].as_str()),
        (Some("num"), Some("chisquare"))
    );
    assert_eq!(
        (col("floats")["type"].as_str(), col("floats")["method"].as_str()),
        (Some("num"), Some("ks"))
    );
    assert_eq!(col("words")["type"], "cat");
    assert_eq!(
        (col("flags")["type"].as_str(), col("flags")["method"].as_str()),
        (Some("cat"), Some("z"))
    );
    assert_eq!(
        (col("digits")["type"].as_str(), col("digits")["method"].as_str()),
        (Some("num"), Some("ks"))
    );

    // The same cells written as CSV give the same report (nulls are empty cells).
    let text = |shift: i64| {
        let mut s = String::from("ints,floats,words,flags,digits\n");
        for i in 0..n {
            let float = if i % 10 == 0 { String::new() } else { format!("{}", i + shift) };
            let word = if i == 3 { "" } else { ["a", "b", "c"][i as usize % 3] };
            let flag = if (i + shift) % 3 == 0 { "True" } else { "False" };
            s.push_str(&format!("{},{float},{word},{flag},{}\n", (i + shift) % 5, i * 2 + shift));
        }
        s
    };
    let (rc, cc) = (csv(d, "r.csv", &text(0)), csv(d, "c.csv", &text(1)));
    assert_eq!(report, drift(&rc, &cc, &[]));
    assert_eq!(report, drift(&r, &cc, &["--numerical", "digits"]));

    let declared = drift(&r, &c, &["--categorical", "ints"]);
    assert_eq!(declared["columns"]["ints"]["type"], "cat");
}

#[test]
fn bad_parquet_is_a_plain_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let good =
        parquet(d, "good.parquet", df!("a" => [1.0, 2.0, 3.0], "b" => ["x", "y", "x"]).unwrap());

    let torn = d.join("torn.parquet");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
    let e = fails(&["--reference", &s(&good), "--current", &s(&torn)]);
    assert!(e.contains("torn.parquet") && e.contains("not a readable Parquet file"), "{e}");

    let extra = parquet(
        d,
        "extra.parquet",
        df!("a" => [1.0, 2.0], "b" => ["x", "y"], "c" => [5i64, 6]).unwrap(),
    );
    let e = fails(&["--reference", &s(&good), "--current", &s(&extra)]);
    assert!(e.contains("schema drift") && e.contains("'c'"), "{e}");

    let empty = parquet(
        d,
        "empty.parquet",
        df!("a" => Vec::<f64>::new(), "b" => Vec::<&str>::new()).unwrap(),
    );
    let e = fails(&["--reference", &s(&empty), "--current", &s(&good)]);
    assert!(e.contains("empty.parquet") && e.contains("no rows"), "{e}");

    let words = parquet(
        d,
        "words.parquet",
        df!("a" => ["1", "seven", "3"], "b" => ["x", "y", "x"]).unwrap(),
    );
    let e = fails(&["--reference", &s(&good), "--current", &s(&words), "--numerical", "a"]);
    assert!(
        e.contains("column 'a'") && e.contains("row 2") && e.contains("'seven' is not a number"),
        "{e}"
    );

    let mut dates = df!("a" => [1.0, 2.0, 3.0], "b" => [1i32, 2, 3]).unwrap();
    let days = dates.column("b").unwrap().cast(&DataType::Date).unwrap();
    dates.replace("b", days).unwrap();
    let dates = parquet(d, "dates.parquet", dates);
    let e = fails(&["--reference", &s(&good), "--current", &s(&dates)]);
    assert!(
        e.contains("dates.parquet")
            && e.contains("column 'b'")
            && e.contains("expected numbers, text or booleans"),
        "{e}"
    );

    let nulls = parquet(
        d,
        "nulls.parquet",
        df!("a" => [None::<f64>, None, None], "b" => ["x", "y", "x"]).unwrap(),
    );
    let e = fails(&["--reference", &s(&good), "--current", &s(&nulls)]);
    assert!(e.contains("'a'") && e.contains("no finite values"), "{e}");
}
