//! `ChunkedReader`: chunks of CSV (quoted fields spanning lines), Parquet
//! and JSON lines concatenate to what `read_table` reads, types do not drift
//! between chunks, and errors name the line in the whole file.

use lathe_data::polars::prelude::*;
use lathe_data::{read_table, ChunkedReader, ColumnType, ReadOptions};

use super::temp_file;

/// Every chunk of `path`, `rows` at a time, stacked.
fn stacked(path: &std::path::Path, opts: &ReadOptions, rows: usize) -> (DataFrame, usize) {
    let mut reader = ChunkedReader::open(path, opts, rows).unwrap();
    let mut frames = reader.by_ref().map(|c| c.unwrap().frame);
    let mut out = frames.next().unwrap();
    let mut n = 1;
    for f in frames {
        out.vstack_mut(&f).unwrap();
        n += 1;
    }
    assert_eq!(reader.progress().done, reader.progress().total, "the whole file was read");
    (out, n)
}

/// A CSV of `n` rows: `k` integers, `f` floats, `s` text with quoted
/// commas and newlines.
fn csv(n: usize) -> String {
    let mut s = String::from("k,f,s\n");
    for i in 0..n {
        let text = match i % 3 {
            0 => "plain".to_string(),
            1 => format!("\"a, {i}\""),
            _ => format!("\"two\nlines {}\"", i % 5),
        };
        s.push_str(&format!("{i},{}.25,{text}\n", i % 7));
    }
    s
}

fn numeric_float(frame: &DataFrame, name: &str) -> Vec<Option<f64>> {
    frame.column(name).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
}

#[test]
fn csv_chunks_stack_to_the_whole_table() {
    let (_dir, path) = temp_file("q.csv", csv(1000).as_bytes());
    let opts = ReadOptions::default();
    let whole = read_table(&path, &opts).unwrap().frame;
    let (chunked, n) = stacked(&path, &opts, 128);
    assert_eq!(n, 8);
    assert_eq!(chunked.height(), 1000);
    // Numeric columns come out as Float64 in every chunk; the values are the same.
    for name in ["k", "f"] {
        assert_eq!(chunked.column(name).unwrap().dtype(), &DataType::Float64);
        assert_eq!(numeric_float(&whole, name), numeric_float(&chunked, name));
    }
    assert!(whole.column("s").unwrap().equals_missing(chunked.column("s").unwrap()));
    assert_eq!(chunked.column("s").unwrap().str().unwrap().get(2), Some("two\nlines 2"));
}

#[test]
fn types_are_fixed_by_overrides_or_the_first_chunk() {
    // x is empty in the first chunk, then numbers; c reads as text in the first chunk.
    let mut s = String::from("x,c\n");
    for i in 0..10 {
        s.push_str(&format!("{},{}\n", if i < 4 { String::new() } else { i.to_string() }, i));
    }
    let (_dir, path) = temp_file("t.csv", s.as_bytes());
    let opts = ReadOptions {
        schema_overrides: vec![("x".into(), ColumnType::Numeric)],
        ..ReadOptions::default()
    };
    let mut reader = ChunkedReader::open(&path, &opts, 4).unwrap();
    let chunks: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 3);
    for chunk in &chunks {
        assert_eq!(chunk.columns[0], ("x".to_string(), ColumnType::Numeric));
        assert_eq!(chunk.frame.column("x").unwrap().dtype(), &DataType::Float64);
        assert_eq!(chunk.columns[1], ("c".to_string(), ColumnType::Numeric));
    }
    assert_eq!(numeric_float(&chunks[1].frame, "x")[0], Some(4.0));
}

#[test]
fn errors_name_the_line_in_the_whole_file() {
    let mut s = csv(300);
    s.push_str("oops,1.0,plain\n");
    let (_dir, path) = temp_file("bad.csv", s.as_bytes());
    let opts = ReadOptions {
        schema_overrides: vec![("k".into(), ColumnType::Numeric)],
        ..ReadOptions::default()
    };
    let line = s.lines().count(); // the last line
    let e = ChunkedReader::open(&path, &opts, 64).unwrap().find_map(Result::err).unwrap();
    let e = e.to_string();
    assert!(
        e.contains(&format!("bad.csv: line {line}, column \"k\": \"oops\" is not a number")),
        "{e}"
    );

    let mut s = csv(300);
    s.push_str("1,2\n");
    let (_dir, path) = temp_file("ragged.csv", s.as_bytes());
    let line = s.lines().count();
    let e = ChunkedReader::open(&path, &ReadOptions::default(), 64)
        .unwrap()
        .find_map(Result::err)
        .unwrap()
        .to_string();
    assert!(e.contains(&format!("line {line} has 2 fields; expected 3")), "{e}");

    let (_dir, path) = temp_file("inf.csv", b"a\n1\n2\n3\ninf\n");
    let chunks: Vec<_> = ChunkedReader::open(&path, &ReadOptions::default(), 2)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(chunks[1].diagnostics[0].message.contains("first at line 5"), "{:?}", chunks[1]);

    let (_dir, path) = temp_file("empty.csv", b"a,b\n");
    let e = ChunkedReader::open(&path, &ReadOptions::default(), 2).unwrap().next().unwrap();
    assert!(e.unwrap_err().to_string().contains("no rows"));
}

#[test]
fn parquet_and_json_lines_in_chunks() {
    let (dir, csv_path) = temp_file("p.csv", csv(500).as_bytes());
    let whole = read_table(&csv_path, &ReadOptions::default()).unwrap().frame;
    let pq = dir.path().join("p.parquet");
    let mut frame = whole.clone();
    ParquetWriter::new(std::fs::File::create(&pq).unwrap())
        .with_row_group_size(Some(100))
        .finish(&mut frame)
        .unwrap();
    let mut reader = ChunkedReader::open(&pq, &ReadOptions::default(), 64).unwrap();
    reader.select(&["s", "k"]).unwrap();
    let chunks: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 8);
    let names: Vec<&str> = chunks[0].frame.get_column_names().iter().map(|c| c.as_str()).collect();
    assert_eq!(names, ["s", "k"]);
    let mut stackedpq = chunks[0].frame.clone();
    for c in &chunks[1..] {
        stackedpq.vstack_mut(&c.frame).unwrap();
    }
    assert_eq!(numeric_float(&whole, "k"), numeric_float(&stackedpq, "k"));
    assert!(whole.column("s").unwrap().equals_missing(stackedpq.column("s").unwrap()));

    // JSON lines: a key missing from a later chunk reads as missing; blank lines are skipped.
    let json =
        b"{\"a\": 1, \"b\": \"x\"}\n\n{\"a\": 2, \"b\": \"y\"}\n{\"a\": 3}\n{\"a\": \"z\"}\n";
    let (_dir, path) = temp_file("j.jsonl", json);
    let mut reader = ChunkedReader::open(&path, &ReadOptions::default(), 2).unwrap();
    assert_eq!(reader.columns(), ["a", "b"]);
    let first = reader.next().unwrap().unwrap();
    assert_eq!(first.columns[0].1, ColumnType::Numeric);
    let second = reader.next().unwrap().unwrap_err().to_string();
    assert!(second.contains("j.jsonl: line 5, column \"a\": \"z\" is not a number"), "{second}");
}
