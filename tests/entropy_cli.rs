//! `peff entropy` and `peff bound` end to end: known values, malformed input, one-line errors.

use assert_cmd::Command;
use predicates::prelude::*;

fn peff() -> Command {
    Command::cargo_bin("peff").expect("the peff binary is built")
}

/// The SPEC §5 anchor values come out of the command line (CSV output parsed back), so the CLI
/// passes counts and alphabet to the estimators unchanged.
#[test]
fn entropy_reproduces_known_values_from_stdin() {
    let out = peff()
        .args(["entropy", "-", "--format", "csv"])
        .write_stdin("10\n5\n3\n1\n1\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("estimator,estimate_bits,ci_low_bits,ci_high_bits,samples,distinct")
    );
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap();
        line.split(',').nth(1).unwrap().parse().unwrap()
    };
    assert!((value("plugin") - 1.842738).abs() < 1e-6);
    assert!((value("miller_madow") - 1.987007).abs() < 1e-6);
    assert!((value("chao_shen") - 2.087338).abs() < 1e-6);
    assert_eq!(text.lines().count(), 9, "a header and eight estimators");
}

/// A `mask,count` CSV file with a header is read, and the default alphabet is announced.
#[test]
fn entropy_reads_mask_count_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("masks.csv");
    std::fs::write(&path, "mask,count\n0011,50\n0101,30\n1001,20\n").unwrap();
    peff()
        .args(["entropy", path.to_str().unwrap(), "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains("plugin,1.485475"))
        .stderr(predicate::str::contains(
            "defaults to the 3 observed symbols",
        ));
}

/// Malformed counts give one line on stderr naming the line and the problem, exit non-zero.
#[test]
fn malformed_counts_name_the_line() {
    for (input, needle) in [
        ("3\n-2\n", "line 2: negative count -2"),
        ("3\n1.5\n", "line 2: not an integer count"),
        ("", "no counts"),
        ("1\n2\nabc\n", "line 3"),
    ] {
        let assert = peff()
            .args(["entropy", "-"])
            .write_stdin(input)
            .assert()
            .failure();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(needle), "{input:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
    let assert = peff()
        .args(["entropy", "-"])
        .write_stdin(vec![b'1', b'\n', 0xff, b'\n'])
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
}

/// An alphabet smaller than the observed symbols, or too few resamples, is refused.
#[test]
fn entropy_rejects_bad_flags() {
    peff()
        .args(["entropy", "-", "--alphabet", "2"])
        .write_stdin("1\n1\n1\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("`--alphabet`"));
    peff()
        .args(["entropy", "-", "--resamples", "1"])
        .write_stdin("1\n1\n1\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("`--resamples`"));
}

/// `peff bound` prints the hand-computed value of the unit test in src/info/bound.rs.
#[test]
fn bound_prints_the_theorem_value() {
    peff()
        .args([
            "bound",
            "--n",
            "1000",
            "--d",
            "50",
            "--epsilon",
            "0.5",
            "--delta",
            "0.5",
            "--c",
            "1",
            "--w",
            "1",
            "--j",
            "1",
            "--mi",
            "3",
            "--k",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"lipschitz_lower_bound\": 0.0210101",
        ));
}
