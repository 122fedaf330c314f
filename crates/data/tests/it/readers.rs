//! Readers agree across formats, types are inferred as documented, and
//! fingerprints are what MLflow records.

use lathe_data::{fingerprint, read_table, ColumnType, DiagnosticKind, Preprocessor, ReadOptions};
use polars::prelude::*;

use super::{fixture, temp_file};

#[test]
fn csv_types_follow_the_inference_rule() {
    let csv = "n,i,b,d,c,t\n1.5,1,true,2024-01-02,red,the quick brown fox\n\
               2,2,False,2024-02-03T10:00:00,blue,jumps over the lazy dog\n\
               ,3,,2024-03-04,red,and runs away fast\n";
    let (_dir, path) = temp_file("types.csv", csv.as_bytes());
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    let kinds: Vec<ColumnType> = t.columns.iter().map(|c| c.1).collect();
    use ColumnType::*;
    assert_eq!(kinds, vec![Numeric, Numeric, Boolean, Datetime, Categorical, Text]);
    assert_eq!(t.frame.column("i").unwrap().dtype(), &DataType::Int64);
    assert_eq!(t.frame.column("n").unwrap().dtype(), &DataType::Float64);
    let opts = ReadOptions {
        schema_overrides: vec![("i".into(), Categorical), ("c".into(), Text)],
        ..ReadOptions::default()
    };
    let t = read_table(&path, &opts).unwrap();
    assert_eq!((t.columns[1].1, t.columns[4].1), (Categorical, Text));
    assert_eq!(t.frame.column("i").unwrap().dtype(), &DataType::String);
}

#[test]
fn parquet_and_json_lines_read_like_csv() {
    let csv = read_table(&fixture("penguins.csv"), &ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("penguins.parquet");
    let mut frame = csv.frame.clone();
    ParquetWriter::new(std::fs::File::create(&pq).unwrap()).finish(&mut frame).unwrap();
    let from_pq = read_table(&pq, &ReadOptions::default()).unwrap();
    assert_eq!(from_pq.columns, csv.columns);
    assert!(from_pq.frame.equals_missing(&csv.frame));

    let jsonl = "{\"a\": 1, \"s\": \"x\", \"f\": 0.5}\n{\"a\": 2, \"s\": null, \"f\": null}\n\n{\"a\": 3, \"s\": \"y\", \"f\": 2}\n";
    let (_d, path) = temp_file("t.ndjson", jsonl.as_bytes());
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(t.frame.height(), 3);
    let kinds: Vec<ColumnType> = t.columns.iter().map(|c| c.1).collect();
    assert_eq!(kinds, vec![ColumnType::Numeric, ColumnType::Categorical, ColumnType::Numeric]);
}

#[test]
fn nested_columns_are_left_out_and_identifiers_flagged() {
    let mut jsonl = String::new();
    for i in 0..25 {
        jsonl.push_str(&format!("{{\"id\": \"row/{i}\", \"tags\": [\"a\", \"b\"], \"x\": {i}}}\n"));
    }
    let (_d, path) = temp_file("n.jsonl", jsonl.as_bytes());
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(t.frame.get_column_names(), ["id", "x"]);
    let found: Vec<(&str, DiagnosticKind)> =
        t.diagnostics.iter().map(|d| (d.column.as_str(), d.kind)).collect();
    assert_eq!(
        found,
        vec![("id", DiagnosticKind::Identifier), ("tags", DiagnosticKind::Unsupported)]
    );
    assert!(t.diagnostics[1].message.contains("nested values (list[str]) are not supported"));
}

#[test]
fn fingerprint_is_the_file_hash_schema_and_rows() {
    let path = fixture("penguins.csv");
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    let f = fingerprint(&path, &t).unwrap();
    // From `sha256sum test_data/penguins.csv`.
    assert_eq!(f.sha256, "7d8686e372cbc0f53a0147c22d164befdef85b41596c71a5cf64aa916518b3d0");
    assert_eq!(f.num_rows, 344);
    let d = f.to_dataset("penguins");
    assert_eq!((d.digest.as_str(), d.source_type.as_str()), (&f.sha256[..16], "local"));
    let schema: serde_json::Value = serde_json::from_str(d.schema.as_deref().unwrap()).unwrap();
    let specs = schema["mlflow_colspec"].as_array().unwrap();
    assert_eq!(specs.len(), 8);
    assert_eq!(
        specs[0],
        serde_json::json!({"type": "string", "name": "species", "required": true})
    );
    assert_eq!(
        specs[2],
        serde_json::json!({"type": "double", "name": "bill_length_mm", "required": false})
    );
    assert_eq!(specs[7], serde_json::json!({"type": "long", "name": "year", "required": true}));
    let profile: serde_json::Value = serde_json::from_str(d.profile.as_deref().unwrap()).unwrap();
    assert_eq!(profile["num_rows"], 344);
    let source: serde_json::Value = serde_json::from_str(&d.source).unwrap();
    assert!(source["uri"].as_str().unwrap().ends_with("penguins.csv"));
}

#[test]
fn saved_preprocessing_refuses_other_versions() {
    let t = read_table(&fixture("penguins.csv"), &ReadOptions::default()).unwrap();
    let prep = Preprocessor::fit(&t.frame, "species", &Default::default()).unwrap();
    let json = prep.to_json().unwrap();
    assert_eq!(Preprocessor::from_json(&json).unwrap(), prep);
    let v2 = json.replace("\"version\":1", "\"version\":2");
    let e = Preprocessor::from_json(&v2).unwrap_err().to_string();
    assert!(e.contains("version 2; expected \"lathe.preprocessor\" version 1"), "{e}");
    assert!(Preprocessor::from_json("{").is_err());
    let inputs = prep.input_columns();
    assert_eq!(inputs[0], ("island".to_string(), ColumnType::Categorical));
    assert_eq!(inputs.len(), 7);
}
