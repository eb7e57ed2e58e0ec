//! `peff entropy` and `peff bound` end to end: known values, malformed input, one-line errors.

mod common;

use common::{check_error, expect_error, peff_command, run_ok};
use predicates::prelude::*;
use serde_json::Value;

/// The SPEC §5 anchor values come out of the command line (CSV output parsed back), so the CLI
/// passes counts and alphabet to the estimators unchanged.
#[test]
fn entropy_reproduces_known_values_from_stdin() {
    let out = peff_command()
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
        Some("estimator,estimate_bits,ci_low_bits,ci_high_bits,sd_bits,samples,distinct")
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
    // NSB's posterior standard deviation has a cell; the other estimators' are empty.
    for line in text.lines().skip(1) {
        let sd = line.split(',').nth(4).unwrap();
        assert_eq!(sd.is_empty(), !line.starts_with("nsb,"), "{line}");
    }
}

/// NSB's posterior standard deviation is in the JSON output (null for the other estimators),
/// and equals the library's `nsb` on the same counts and alphabet.
#[test]
fn entropy_reports_nsb_posterior_sd() {
    let out = peff_command()
        .args(["entropy", "-", "--format", "json", "--alphabet", "20"])
        .write_stdin("10\n5\n3\n1\n1\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = rows.as_array().unwrap();
    let want = peff::info::estimators::nsb(&[10, 5, 3, 1, 1], 20.0).unwrap();
    for row in rows {
        let sd = &row["sd_bits"];
        if row["estimator"] == "nsb" {
            assert_eq!(sd.as_f64(), Some(want.posterior_sd_bits));
        } else {
            assert!(sd.is_null(), "{row}");
        }
    }
}

/// A `.npy` file as NumPy writes it: magic, version, little-endian header length, the header
/// dictionary padded with spaces to a 64-byte boundary and ended by a newline, then the data.
fn npy(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let width = if version == 1 { 2 } else { 4 };
    while !(8 + width + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    let length = header.len() as u32;
    out.extend_from_slice(&length.to_le_bytes()[..width]);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn entropy_csv(args: &[&str]) -> String {
    let out = peff_command()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// `--masks` counts the distinct rows of a `.npy` file (every format version, bool and uint8)
/// and gives exactly the table of the same counts read from a counts file.
#[test]
fn entropy_reads_masks_from_npy() {
    let dir = tempfile::tempdir().unwrap();
    // 6 masks of 10 entries: rows 0, 2, 5 equal, rows 1 and 4 equal, row 3 alone: counts 3, 2, 1
    let a = [1, 0, 1, 0, 1, 0, 1, 0, 1, 1];
    let b = [0, 1, 1, 0, 1, 0, 1, 0, 1, 1];
    let c = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let data: Vec<u8> = [a, b, a, c, b, a].concat();
    let counts = dir.path().join("counts.txt");
    std::fs::write(&counts, "3\n2\n1\n").unwrap();
    let want = entropy_csv(&[
        "entropy",
        counts.to_str().unwrap(),
        "--alphabet",
        "1024",
        "--format",
        "csv",
    ]);
    assert!(want.contains(",6,3\n"), "{want}");
    for version in [1, 2, 3] {
        for descr in ["|b1", "|u1"] {
            let path = dir.path().join(format!("m{version}{}.npy", &descr[1..]));
            std::fs::write(&path, npy(version, descr, false, "(6, 10)", &data)).unwrap();
            let got = entropy_csv(&[
                "entropy",
                "--masks",
                path.to_str().unwrap(),
                "--alphabet",
                "1024",
                "--format",
                "csv",
            ]);
            assert_eq!(got, want, "version {version} {descr}");
        }
    }
}

/// Bad `.npy` files and flag combinations end in one line on stderr naming the problem.
#[test]
fn entropy_rejects_bad_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = npy(1, "|u1", false, "(2, 3)", &[0, 1, 1, 1, 0, 0]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            npy(1, "<f4", false, "(2, 3)", &[0; 24]),
            "dtype '<f4' is not a mask dtype: expected '|b1' (bool) or '|u1' (uint8)",
        ),
        (
            npy(1, "<i8", false, "(1, 1)", &[0; 8]),
            "dtype '<i8' is not a mask dtype",
        ),
        (
            npy(1, "|b1", true, "(2, 3)", &[0; 6]),
            "the array is stored in Fortran order (fortran_order: True)",
        ),
        (
            good[..good.len() - 2].to_vec(),
            "truncated .npy file: the data needs 6 bytes, 4 remain",
        ),
        (
            good[..20].to_vec(),
            "truncated .npy file: the header needs 118 bytes, 10 remain",
        ),
        (
            npy(1, "|u1", false, "(6,)", &[0; 6]),
            "expected a 2-D array of N masks × p entries, got shape (6,)",
        ),
        (
            npy(1, "|u1", false, "(2, 3)", &[0, 1, 1, 1, 3, 0]),
            "mask 1, entry 1: value 3 is not 0 or 1",
        ),
        (
            npy(1, "|u1", false, "(0, 3)", &[]),
            "no masks: the input holds 0 masks",
        ),
        (b"0,1,1\n1,0,0\n".to_vec(), "not a .npy file"),
        (
            npy(4, "|u1", false, "(2, 3)", &[0; 6]),
            ".npy format version 4.0 is not supported",
        ),
    ];
    for (i, (bytes, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.npy"));
        std::fs::write(&path, bytes).unwrap();
        let assert = peff_command()
            .args(["entropy", "--masks", path.to_str().unwrap()])
            .assert()
            .failure();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(needle), "case {i}: {stderr}");
        assert!(
            stderr.contains(&format!("`--masks` '{}'", path.display())),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
    let path = dir.path().join("good.npy");
    std::fs::write(&path, &good).unwrap();
    // a counts file and `--masks` together, or neither, is a usage error
    peff_command()
        .args(["entropy", "counts.txt", "--masks", path.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot be used with"));
    peff_command()
        .args(["entropy"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "not provided: <FILE|--masks <MASKS>>",
        ));
    peff_command()
        .args([
            "entropy",
            "--masks",
            dir.path().join("missing.npy").to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("`--masks`: cannot read"));
}

/// A `mask,count` CSV file with a header is read, and the default alphabet is announced.
#[test]
fn entropy_reads_mask_count_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("masks.csv");
    std::fs::write(&path, "mask,count\n0011,50\n0101,30\n1001,20\n").unwrap();
    peff_command()
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
        let assert = peff_command()
            .args(["entropy", "-"])
            .write_stdin(input)
            .assert()
            .failure();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(needle), "{input:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
    let assert = peff_command()
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
    peff_command()
        .args(["entropy", "-", "--alphabet", "2"])
        .write_stdin("1\n1\n1\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("`--alphabet`"));
    peff_command()
        .args(["entropy", "-", "--resamples", "1"])
        .write_stdin("1\n1\n1\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("`--resamples`"));
}

/// `peff bound` prints the hand-computed value of the unit test in src/info/bound.rs.
#[test]
fn bound_prints_the_theorem_value() {
    peff_command()
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

/// Issue 28: an oversized `--masks` file was read up to the limit before it was refused; it is
/// now refused by its size (file metadata), before any byte is read, naming the limit. The
/// file is sparse, so the test writes nothing.
#[test]
fn oversized_masks_file_is_refused_by_its_size() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("huge.npy");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(64 << 30).unwrap();
    let started = std::time::Instant::now();
    let out = peff_command()
        .args(["entropy", "--masks", path.to_str().unwrap()])
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`--masks`") && err.contains("68719476736 bytes") && err.contains("limit"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(started.elapsed().as_secs_f64() < 5.0, "it read the file");
}

/// Two counts of 2^63 − 1 made the bootstrap's binomial sampler panic; totals above 2^53 are
/// now refused with one line.
#[test]
fn bootstrap_total_beyond_its_limit_is_refused_not_a_panic() {
    let output = peff_command()
        .args(["entropy", "-"])
        .write_stdin("9223372036854775807\n9223372036854775807\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("above the bootstrap's limit of 2^53"),
        "{stderr}"
    );
    let counts = [1u64 << 53, 1];
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    assert!(peff::info::estimators::multinomial_sample(&counts, 1 << 53, &mut rng).is_err());
    assert!(
        peff::info::estimators::multinomial_sample(&[1 << 52, 1 << 52], 1 << 53, &mut rng).is_ok()
    );
}

/// `peff bound` refuses ε or δ outside (0, 1) and non-positive constants with one line naming
/// the flag; a valid call prints the bound as JSON. Fails if a boundary value (0 or 1) slipped
/// through.
#[test]
fn bound_rejects_out_of_range_inputs() {
    let args = |epsilon: &str, delta: &str, n: &str| -> Vec<String> {
        [
            "bound",
            &format!("--n={n}"),
            "--d=50",
            &format!("--epsilon={epsilon}"),
            &format!("--delta={delta}"),
            "--w=10",
            "--j=1",
            "--mi=20",
            "--k=100",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let cases = [
        (
            args("0", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 0",
        ),
        (
            args("1", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 1",
        ),
        (
            args("1.5", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got 1.5",
        ),
        (
            args("nan", "0.05", "1000"),
            "`--epsilon` must be in (0, 1), got NaN",
        ),
        (
            args("0.1", "0", "1000"),
            "`--delta` must be in (0, 1), got 0",
        ),
        (
            args("0.1", "1", "1000"),
            "`--delta` must be in (0, 1), got 1",
        ),
        (
            args("0.1", "-0.5", "1000"),
            "`--delta` must be in (0, 1), got -0.5",
        ),
        (
            args("0.1", "0.05", "0"),
            "`--n` must be a finite number > 0, got 0",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(a, phrase)| check_error(a, &[phrase]).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let ok = args("0.1", "0.05", "1000");
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    let bound: Value = serde_json::from_str(&run_ok(&ok)).unwrap();
    assert!(bound["lipschitz_lower_bound"].as_f64().unwrap() > 0.0);
}

/// `bound --n 1e308` printed `null` and fractional `--n`/`--k` were accepted.
#[test]
fn bound_refuses_fractional_counts_and_unrepresentable_results() {
    let base = [
        "bound",
        "--d",
        "50",
        "--epsilon",
        "0.1",
        "--delta",
        "0.05",
        "--w",
        "10",
        "--j",
        "1",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    expect_error(
        &with(&["--n", "1e308", "--mi", "20", "--k", "100"]),
        &["--n", "whole number"],
    );
    expect_error(
        &with(&["--n", "1000.5", "--mi", "20", "--k", "100"]),
        &["--n", "got 1000.5"],
    );
    expect_error(
        &with(&["--n", "1000", "--mi", "20", "--k", "2.5"]),
        &["--k", "whole number"],
    );
    let mut args: Vec<&str> = vec!["bound", "--d", "50", "--epsilon", "0.1", "--delta", "0.05"];
    args.extend([
        "--w", "1e308", "--j", "1e308", "--n", "1000", "--mi", "20", "--k", "100",
    ]);
    expect_error(&args, &["not representable"]);
    let stdout = run_ok(&with(&["--n", "1000", "--mi", "20", "--k", "100"]));
    assert!(!stdout.contains("null"), "{stdout}");
}
