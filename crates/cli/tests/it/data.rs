//! `lathe data profile` and `lathe data split` on the real binary: the
//! table and warnings, the files written per strategy, and a located error.

use std::path::Path;

use super::harness::lathe;

fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn table(rows: usize) -> String {
    let mut csv = String::from("user,day,x,copy,y\n");
    for i in 0..rows {
        let y = if i % 12 == 0 { "yes" } else { "no" };
        csv.push_str(&format!("u{},2024-01-{:02},{},{y},{y}\n", i % 7, 1 + i % 28, i % 13));
    }
    csv
}

#[test]
fn profile_prints_types_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.csv", &table(100));
    let html = dir.path().join("p.html");
    let out = lathe()
        .args(["data", "profile"])
        .arg(&path)
        .args(["--target", "y", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("100 rows, 5 columns"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("day") && l.contains("datetime")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("x") && l.contains("numeric")), "{text}");
    assert!(text.contains("warning: column \"copy\" is identical to the target"), "{text}");
    assert!(text.contains("warning: class imbalance: \"yes\" is 9.0% of the rows"), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h1>Profile of t.csv</h1>") && page.contains("<svg"), "{page}");
}

#[test]
fn split_writes_train_and_test_in_the_input_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.csv", &table(100));
    for (strategy, by) in [
        ("random", None),
        ("stratified", Some("y")),
        ("group", Some("user")),
        ("time", Some("day")),
    ] {
        let out_dir = dir.path().join(strategy);
        let mut cmd = lathe();
        cmd.args(["data", "split"]).arg(&path).arg("--out-dir").arg(&out_dir);
        cmd.args(["--strategy", strategy, "--test-size", "0.25", "--seed", "7"]);
        if let Some(by) = by {
            cmd.args(["--by", by]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{strategy}: {}", String::from_utf8_lossy(&out.stderr));
        let train = std::fs::read_to_string(out_dir.join("train.csv")).unwrap();
        let test = std::fs::read_to_string(out_dir.join("test.csv")).unwrap();
        let (n_train, n_test) = (train.lines().count() - 1, test.lines().count() - 1);
        assert_eq!(n_train + n_test, 100, "{strategy}");
        if strategy != "group" {
            assert_eq!(n_test, 25, "{strategy}");
        }
        assert!(train.starts_with("user,day,x,copy,y\n"), "{strategy}");
    }
}

#[test]
fn bad_files_fail_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.csv", "a,b\n1,2\n3\n");
    let out = lathe().args(["data", "profile"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv: line 3 has 1 fields; expected 2"), "{err}");
}
