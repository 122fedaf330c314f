//! Every bad input of issue 3 gets an error (or a diagnostic) naming the
//! file, line/row, column and what was expected.

use lathe_data::{
    encode_target, read_table, ColumnType, DiagnosticKind, Error, PreprocessSpec, Preprocessor,
    ReadOptions,
};
use serde_json::json;

use super::temp_file;

fn read_err(name: &str, content: &str, opts: &ReadOptions) -> String {
    let (_dir, path) = temp_file(name, content.as_bytes());
    match read_table(&path, opts) {
        Ok(t) => panic!("{name} read fine: {:?}", t.frame),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_files() {
    for content in ["", "  \n", "a,b\n"] {
        let e = read_err("empty.csv", content, &ReadOptions::default());
        assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
    }
    let e = read_err("empty.jsonl", "\n\n", &ReadOptions::default());
    assert!(e.contains("empty.jsonl: the file is empty"), "{e}");
}

#[test]
fn ragged_rows_name_the_line() {
    let e = read_err("r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n", &ReadOptions::default());
    assert!(e.contains("r.csv: line 3 has 2 fields; expected 3"), "{e}");
    let e = read_err("r.csv", "a,b\n1,2\n\"multi\nline\",3\n4,5,6\n", &ReadOptions::default());
    assert!(e.contains("line 5 has 3 fields"), "{e}");
}

#[test]
fn duplicate_header_names() {
    let e = read_err("d.csv", "a,b,a\n1,2,3\n", &ReadOptions::default());
    assert!(e.contains("d.csv: column 3 repeats the header name \"a\" (first at column 1)"), "{e}");
}

#[test]
fn non_numeric_values_name_line_column_and_value() {
    // Forced numeric.
    let opts = ReadOptions {
        schema_overrides: vec![("a".into(), ColumnType::Numeric)],
        ..ReadOptions::default()
    };
    let e = read_err("n.csv", "a,b\n1,u\n2,v\nzz,w\n", &opts);
    assert!(e.contains("n.csv: line 4, column \"a\": \"zz\" is not a number"), "{e}");
    // Inferred numeric: 10 numbers and one typo.
    let mut csv = String::from("x,y\n");
    for i in 0..10 {
        csv.push_str(&format!("{i}.5,k\n"));
    }
    csv.push_str("1O.5,k\n");
    let e = read_err("n.csv", &csv, &ReadOptions::default());
    assert!(e.contains("line 12, column \"x\": \"1O.5\" is not a number (90.9%"), "{e}");
    // A JSON-lines file with the same problem names its line.
    let opts = ReadOptions {
        schema_overrides: vec![("x".into(), ColumnType::Numeric)],
        ..ReadOptions::default()
    };
    let e = read_err("n.jsonl", "{\"x\": \"1\"}\n{\"x\": \"one\"}\n", &opts);
    assert!(e.contains("n.jsonl: line 2, column \"x\": \"one\" is not a number"), "{e}");
    let e = read_err("n.jsonl", "{\"x\": 1}\n{\"x\": 2\n", &ReadOptions::default());
    assert!(e.contains("n.jsonl: line 2") && e.contains("valid JSON"), "{e}");
}

#[test]
fn unsupported_extension_and_missing_file() {
    let e = read_err("t.xlsx", "a\n1\n", &ReadOptions::default());
    assert!(e.contains("expected .csv, .parquet, .jsonl or .ndjson"), "{e}");
    let e = read_table("/nonexistent/t.csv".as_ref(), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("/nonexistent/t.csv"));
}

#[test]
fn diagnostics_for_all_null_constant_nan_and_inf() {
    let (_dir, path) =
        temp_file("g.csv", b"a,gone,same,x,y\n1,,k,NaN,p\n2,,k,inf,q\n3,,k,2.5,p\n4,,k,-inf,q\n");
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    let kinds: Vec<(&str, DiagnosticKind)> =
        t.diagnostics.iter().map(|d| (d.column.as_str(), d.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            ("gone", DiagnosticKind::AllNull),
            ("same", DiagnosticKind::Constant),
            ("x", DiagnosticKind::NotANumber),
            ("x", DiagnosticKind::Infinite),
        ]
    );
    assert!(t.diagnostics[0].message.contains("dropped from the features"));
    assert!(t.diagnostics[2].message.contains("1 NaN value(s), treated as missing"));
    assert!(t.diagnostics[3].message.contains("2 infinite value(s) (first at line 3)"));
    assert_eq!(t.frame.column("x").unwrap().null_count(), 1, "NaN became missing");
    // ±inf is refused at fit, with row and column.
    let e = Preprocessor::fit(&t.frame, "y", &PreprocessSpec::default()).unwrap_err().to_string();
    assert!(e.contains("row 2, column \"x\": value is inf; expected a finite number"), "{e}");
    // Without x, the all-null column is dropped and tolerated.
    let frame = t.frame.drop("x").unwrap();
    let prep = Preprocessor::fit(&frame, "y", &PreprocessSpec::default()).unwrap();
    assert_eq!(prep.dropped_columns(), ["gone"]);
    assert!(!prep.feature_names().iter().any(|n| n.starts_with("gone")));
    let (m, _) = prep.transform(&frame).unwrap();
    assert_eq!(m.rows(), 4);
}

#[test]
fn schema_mismatch_and_field_types_at_transform() {
    let (_dir, path) = temp_file("s.csv", b"a,c,y\n1,red,p\n2,blue,q\n,red,p\n");
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    let prep = Preprocessor::fit(&t.frame, "y", &PreprocessSpec::default()).unwrap();
    let missing = t.frame.drop("a").unwrap();
    let e = prep.transform(&missing).unwrap_err().to_string();
    assert!(e.contains("missing column(s) a"), "{e}");
    let mut extra = t.frame.clone();
    extra.with_column(polars::prelude::Column::new("zz".into(), [1i64, 2, 3])).unwrap();
    let e = prep.transform(&extra).unwrap_err().to_string();
    assert!(e.contains("unexpected column(s) zz"), "{e}");
    let row = json!({"a": "abc", "c": "red"});
    let e = prep.transform_row(row.as_object().unwrap()).unwrap_err().to_string();
    assert_eq!(e, "request: field \"a\": expected a number, got the text \"abc\"");
    let row = json!({"a": [1], "c": "red"});
    let e = prep.transform_row(row.as_object().unwrap()).unwrap_err().to_string();
    assert!(
        e.contains("field \"a\": expected a number, string, boolean or null, got an array"),
        "{e}"
    );
    let row = json!({"c": "red"});
    let e = prep.transform_row(row.as_object().unwrap()).unwrap_err().to_string();
    assert!(e.contains("missing column(s) a"), "{e}");
    let row = json!({"a": 1.0, "c": "red", "extra": 1});
    let e = prep.transform_row(row.as_object().unwrap()).unwrap_err().to_string();
    assert!(e.contains("unexpected column(s) extra"), "{e}");
    let row = json!({"a": "-inf", "c": "red"});
    let e = prep.transform_row(row.as_object().unwrap()).unwrap_err().to_string();
    assert!(e.contains("field \"a\": expected a finite number"), "{e}");
}

#[test]
fn unseen_categories_go_to_unknown_and_are_counted() {
    let (_dir, train) = temp_file("t.csv", b"c,y\nred,p\nblue,q\nred,p\n");
    let (_dir2, apply) = temp_file("a.csv", b"c,y\nred,p\ngreen,q\npink,p\n,q\n");
    let t = read_table(&train, &ReadOptions::default()).unwrap();
    let a = read_table(&apply, &ReadOptions::default()).unwrap();
    let prep = Preprocessor::fit(&t.frame, "y", &PreprocessSpec::default()).unwrap();
    assert_eq!(prep.feature_names(), ["c=blue", "c=red", "c__unknown"]);
    let (m, report) = prep.transform(&a.frame).unwrap();
    assert_eq!(report.unseen, vec![("c".to_string(), 3)]);
    assert_eq!(m.row(1), [0.0, 0.0, 1.0]);
    assert_eq!(m.row(3), [0.0, 0.0, 1.0]);
}

#[test]
fn target_problems_from_a_file() {
    let (_dir, path) = temp_file("t.csv", b"a,y,z\n1,p,u\n2,p,\n3,p,v\n");
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    let e = encode_target(&t.frame, "label", None).unwrap_err().to_string();
    assert!(e.contains("\"label\" not found; available columns: a, y, z"), "{e}");
    let e = encode_target(&t.frame, "y", None).unwrap_err().to_string();
    assert!(e.contains("a single class \"p\"; expected at least two"), "{e}");
    let e = encode_target(&t.frame, "z", None).unwrap_err().to_string();
    assert!(e.contains("1 missing value(s) at row(s) 2"), "{e}");
    let e = Preprocessor::fit(&t.frame, "label", &PreprocessSpec::default()).unwrap_err();
    assert!(e.to_string().contains("\"label\" not found"));
}
