//! `peff memorize` end to end (SPEC §7, §8): the table's columns and kept counts (the same for
//! every method, on IMP's levels), byte-identical tables for any thread count and for shards
//! merged by `peff merge`, diverged runs counted, the FashionMNIST IDX loader on small files the
//! tests write (raw, gzipped and malformed) and on the real training set (Debian's
//! `dataset-fashion-mnist`, which `.ci/run` installs), and one-line errors naming each bad flag.
//!
//! Every run is tiny (n ≤ 8 points, width 8, ≤ 3 seeds, two densities, ≤ 400 epochs), so the
//! file takes a few seconds in release mode.

mod common;

use std::io::Write;
use std::path::Path;

use common::{
    expect_error, path_str, peff, peff_command, read, records, run_ok, run_ok_with_stderr,
};
use peff::data::idx::{
    encode_images, encode_labels, load_fashion_mnist_train, DEBIAN_FASHION_MNIST_DIR,
};
use peff::prune::Imp;
use serde_json::Value;
use tempfile::TempDir;

/// The `peff memorize` columns (SPEC §8, plus `diverged`).
const HEADER: &str = "dataset,method,density,kept,memorised_mean,memorised_se,accuracy_mean,accuracy_se,seeds,capped,diverged,collapsed";

/// The tiny Gaussian configuration: d = 4, width 8, depth 2, o = 2 → 4·8 + 8·8 + 8·2 = 112
/// weights. Flags given to [`tiny`] replace these.
const TINY: &[(&str, &str)] = &[
    ("--n", "6"),
    ("--input-dim", "4"),
    ("--width", "8"),
    ("--lr", "0.1"),
    ("--max-epochs", "400"),
    ("--densities", "0.5,0.1"),
    ("--format", "csv"),
];
const TINY_WEIGHTS: usize = 112;

/// `peff memorize` with `TINY` (less the flags `extra` gives, and less the Gaussian-only ones
/// when `extra` selects FashionMNIST) plus `extra`, writing into `out`.
fn tiny(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["memorize".to_string(), "--out".into(), path_str(out).into()];
    let fashion = extra.contains(&"fashion-mnist");
    for (flag, value) in TINY {
        let gaussian_only = matches!(*flag, "--n" | "--input-dim");
        let skip = extra.contains(flag) || (fashion && gaussian_only);
        if !skip {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn run_tiny(out: &Path, extra: &[&str]) -> String {
    let args = tiny(out, extra);
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The table has SPEC §8's columns, one row per method and density, fractions in [0, 1], every
/// seed accounted for, and each method's kept counts are the same IMP levels; the JSON record
/// carries the configuration and the summary. Fails if a method gets its own kept counts or a
/// count falls off IMP's schedule.
#[test]
fn tiny_run_has_the_documented_table() {
    let tmp = TempDir::new().unwrap();
    let stdout = run_tiny(tmp.path(), &["--seeds", "2", "--threads", "1"]);
    let csv = read(&tmp.path().join("memorize-gaussian.csv"));
    assert_eq!(stdout, csv, "--format csv prints the file");
    assert_eq!(csv.lines().next().unwrap(), HEADER);
    let rows = records(&csv);
    assert_eq!(rows.len(), 6 * 2, "six methods × two densities");
    let schedule = Imp { rate: 0.2 }.schedule(TINY_WEIGHTS, 1);
    let mut kept_by_method: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for row in &rows {
        assert_eq!(row["dataset"], "gaussian");
        let kept: usize = row["kept"].parse().unwrap();
        assert!(schedule.contains(&kept), "kept {kept} is not an IMP level");
        let density: f64 = row["density"].parse().unwrap();
        assert!((density - kept as f64 / TINY_WEIGHTS as f64).abs() < 1e-15);
        let seeds: u64 = row["seeds"].parse().unwrap();
        let diverged: u64 = row["diverged"].parse().unwrap();
        assert_eq!(seeds + diverged, 2);
        let mean: f64 = row["memorised_mean"].parse().unwrap();
        assert!((0.0..=1.0).contains(&mean), "{row:?}");
        // Fractions of 6 points, averaged over 2 seeds: multiples of 1/12.
        assert!(
            (mean * 12.0 - (mean * 12.0).round()).abs() < 1e-9,
            "{row:?}"
        );
        kept_by_method
            .entry(row["method"].clone())
            .or_default()
            .push(kept);
    }
    let first = kept_by_method.values().next().unwrap().clone();
    // 0.5 → level 3 (57 kept), 0.1 → level 10 (11 kept): 112 → 89 → 71 → 56? Read from the
    // schedule rather than by hand:
    let nearest = |d: f64| {
        *schedule
            .iter()
            .min_by(|a, b| {
                let dist = |k: usize| ((k as f64 / 112.0).ln() - d.ln()).abs();
                dist(**a).total_cmp(&dist(**b))
            })
            .unwrap()
    };
    assert_eq!(first, vec![nearest(0.5), nearest(0.1)]);
    assert!(
        kept_by_method.values().all(|k| *k == first),
        "{kept_by_method:?}"
    );
    let json: Value =
        serde_json::from_str(&read(&tmp.path().join("memorize-gaussian.json"))).unwrap();
    assert_eq!(json["run"]["command"], "memorize");
    assert_eq!(json["run"]["config"]["seeds"], 2);
    assert_eq!(
        json["run"]["config"]["widths"],
        serde_json::json!([4, 8, 8, 2])
    );
    assert_eq!(json["rows"].as_array().unwrap().len(), 12);
    assert!(json["summary"]["dense"]["memorised_mean"].is_number());
    assert_eq!(json["summary"]["methods"].as_array().unwrap().len(), 6);
}

/// Seeds run in parallel, but the table is reduced in seed order: 1 and 2 threads give the same
/// bytes.
#[test]
fn thread_count_does_not_change_the_table() {
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    run_tiny(a.path(), &["--seeds", "3", "--threads", "1"]);
    run_tiny(b.path(), &["--seeds", "3", "--threads", "2"]);
    let name = "memorize-gaussian.csv";
    assert_eq!(read(&a.path().join(name)), read(&b.path().join(name)));
}

/// Shards over seeds merged by `peff merge` give the unsharded table byte for byte; a missing
/// or doubled shard, or a shard of another configuration, is refused.
#[test]
fn shards_merge_into_the_unsharded_table() {
    let (whole, shards, merged) = (
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
    );
    let methods = ["--methods", "imp,random,magnitude", "--seeds", "3"];
    run_tiny(whole.path(), &methods);
    let mut files = Vec::new();
    for shard in ["0/2", "1/2"] {
        let extra: Vec<&str> = methods.iter().copied().chain(["--shard", shard]).collect();
        let out = run_tiny(shards.path(), &extra);
        files.push(out.trim().to_string());
    }
    assert!(
        files[0].ends_with("memorize-gaussian.shard-0-of-2.json"),
        "{files:?}"
    );
    let merge = |files: &[&str]| {
        let mut args = vec!["merge", "--out", path_str(merged.path()), "--format", "csv"];
        args.extend(files);
        peff(&args)
    };
    let ok = merge(&[&files[1], &files[0]]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let name = "memorize-gaussian.csv";
    assert_eq!(
        read(&merged.path().join(name)),
        read(&whole.path().join(name))
    );
    for bad in [vec![files[0].as_str()], vec![&files[0], &files[0]]] {
        let out = merge(&bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.lines().count() == 1, "{err}");
        assert!(
            err.contains("missing shards") || err.contains("given twice"),
            "{err}"
        );
    }
    // A shard of another configuration.
    let other = TempDir::new().unwrap();
    let extra: Vec<&str> = methods
        .iter()
        .copied()
        .chain(["--shard", "1/2", "--seed", "9"])
        .collect();
    let foreign = run_tiny(other.path(), &extra);
    let out = merge(&[&files[0], foreign.trim()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("different configuration"));
    // A modified shard fails its checksum.
    let text = read(Path::new(&files[0]));
    let edited = shards.path().join("edited.json");
    std::fs::write(&edited, text.replacen("\"epochs\":", "\"epochs\":1", 1)).unwrap();
    let out = merge(&[path_str(&edited), &files[1]]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("checksum"), "{err}");
}

/// A learning rate that blows MSE training up: the diverged runs are counted in `diverged` and
/// left out of the mean, never averaged in as NaN.
#[test]
fn diverged_runs_are_counted_not_averaged() {
    let tmp = TempDir::new().unwrap();
    run_tiny(
        tmp.path(),
        &[
            "--loss",
            "mse",
            "--lr",
            "1e4",
            "--seeds",
            "2",
            "--methods",
            "random,snip",
        ],
    );
    let csv = read(&tmp.path().join("memorize-gaussian.csv"));
    assert!(!csv.contains("NaN") && !csv.contains("nan"), "{csv}");
    let rows = records(&csv);
    let diverged: u64 = rows
        .iter()
        .map(|r| r["diverged"].parse::<u64>().unwrap())
        .sum();
    assert!(diverged > 0, "{csv}");
    for row in rows.iter().filter(|r| r["seeds"] == "0") {
        assert_eq!(row["memorised_mean"], "", "no mean without a seed: {row:?}");
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// 20 random 4×4 images and labels 0..9, as IDX bytes.
fn tiny_idx() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..20 * 16u32).map(|i| (i * 37 % 256) as u8).collect();
    let labels: Vec<u8> = (0..20u8).map(|i| i % 10).collect();
    (encode_images(4, 4, &pixels), encode_labels(&labels))
}

fn write_set(dir: &Path, images: &[u8], labels: &[u8], gzipped: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let (i, l) = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    if gzipped {
        std::fs::write(dir.join(format!("{i}.gz")), gz(images)).unwrap();
        std::fs::write(dir.join(format!("{l}.gz")), gz(labels)).unwrap();
    } else {
        std::fs::write(dir.join(i), images).unwrap();
        std::fs::write(dir.join(l), labels).unwrap();
    }
}

fn fashion_args<'a>(data: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "memorize",
        "--dataset",
        "fashion-mnist",
        "--data",
        path_str(data),
        "--train-size",
        "8",
        "--width",
        "8",
        "--seeds",
        "2",
        "--densities",
        "0.5,0.1",
        "--max-epochs",
        "300",
        "--lr",
        "0.01",
        "--format",
        "csv",
        "--out",
        path_str(out),
    ]
}

/// A tiny FashionMNIST run from raw and from gzipped files gives the same table (16 inputs,
/// 10 classes), its rows named `fashion-mnist`.
#[test]
fn fashion_mnist_runs_from_raw_and_gzipped_files() {
    let tmp = TempDir::new().unwrap();
    let (images, labels) = tiny_idx();
    let (raw, gzd) = (tmp.path().join("raw"), tmp.path().join("gz"));
    write_set(&raw, &images, &labels, false);
    write_set(&gzd, &images, &labels, true);
    let (out_a, out_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = run_ok(&fashion_args(&raw, &out_a));
    let b = run_ok(&fashion_args(&gzd, &out_b));
    assert_eq!(a, b);
    assert_eq!(a.lines().next().unwrap(), HEADER);
    let rows = records(&a);
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["dataset"] == "fashion-mnist"));
    let json: Value =
        serde_json::from_str(&read(&out_a.join("memorize-fashion-mnist.json"))).unwrap();
    assert_eq!(
        json["run"]["config"]["widths"],
        serde_json::json!([16, 8, 8, 10])
    );
    assert_eq!(json["run"]["config"]["dataset"]["images"], 20);
}

/// Malformed IDX files and incomplete directories fail with one line naming `--data` and what
/// is wrong.
#[test]
fn malformed_idx_files_fail_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let (images, labels) = tiny_idx();
    let mut wrong_magic = images.clone();
    wrong_magic[3] = 0x01;
    let truncated = images[..images.len() - 5].to_vec();
    let mut out_of_range = labels.clone();
    out_of_range[8 + 7] = 10;
    let fewer_labels = encode_labels(&[1, 2, 3]);
    /// (name, image bytes, label bytes, gzipped, phrases of the error).
    type Case<'a> = (&'a str, Vec<u8>, Vec<u8>, bool, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "magic",
            wrong_magic,
            labels.clone(),
            false,
            vec!["wrong magic number 0x00000801"],
        ),
        (
            "trunc",
            truncated.clone(),
            labels.clone(),
            false,
            vec!["truncated"],
        ),
        (
            "trunc-gz",
            truncated,
            labels.clone(),
            true,
            vec!["truncated", ".gz"],
        ),
        (
            "dims",
            images.clone(),
            fewer_labels,
            false,
            vec!["dimension mismatch", "20 images", "3 labels"],
        ),
        (
            "label",
            images.clone(),
            out_of_range,
            true,
            vec!["label 10 at index 7 is out of range"],
        ),
    ];
    for (name, imgs, labs, gzipped, phrases) in cases {
        let dir = tmp.path().join(name);
        write_set(&dir, &imgs, &labs, gzipped);
        let out = peff(&fashion_args(&dir, &tmp.path().join("out")));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.lines().count() == 1,
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        for p in phrases.iter().chain(&["`--data`"]) {
            assert!(err.contains(p), "{name}: {err} lacks {p}");
        }
    }
    // Missing directory, a file, a dangling link, both raw and gzipped files, and a directory
    // with images but no labels.
    let only_images = tmp.path().join("only-images");
    std::fs::create_dir_all(&only_images).unwrap();
    std::fs::write(only_images.join("train-images-idx3-ubyte"), &images).unwrap();
    let both = tmp.path().join("both");
    write_set(&both, &images, &labels, false);
    write_set(&both, &images, &labels, true);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(tmp.path().join("gone"), &dangling).unwrap();
    for (dir, phrase) in [
        (tmp.path().join("nowhere"), "does not exist"),
        (file, "is a file, not a directory"),
        (dangling, "is a dangling link to"),
        (
            both,
            "both train-images-idx3-ubyte and train-images-idx3-ubyte.gz",
        ),
        (only_images, "train-labels-idx1-ubyte"),
    ] {
        let out = peff(&fashion_args(&dir, &tmp.path().join("out")));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.lines().count() == 1, "{err}");
        assert!(err.contains(phrase) && err.contains("`--data`"), "{err}");
    }
}

/// Every invalid value of every flag fails with one stderr line naming the flag, before any
/// training. Fails if a value slips through (the tiny run would succeed) or a message loses its
/// flag.
#[test]
fn invalid_flags_fail_with_one_line_naming_the_flag() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("fashion");
    let (images, labels) = tiny_idx();
    write_set(&data, &images, &labels, false);
    let fashion = ["--dataset", "fashion-mnist", "--data", path_str(&data)];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--width", "0"], "--width"),
        (vec!["--width", "-3"], "--width"),
        (vec!["--depth", "0"], "--depth"),
        (vec!["--n", "0"], "--n"),
        (vec!["--input-dim", "0"], "--input-dim"),
        (vec!["--seeds", "0"], "--seeds"),
        (vec!["--seeds", "x"], "--seeds"),
        (vec!["--seed", "-1"], "--seed"),
        (
            vec!["--seed", "18446744073709551615", "--seeds", "2"],
            "--seed",
        ),
        (vec!["--lr", "0"], "--lr"),
        (vec!["--lr", "nan"], "--lr"),
        (vec!["--max-epochs", "0"], "--max-epochs"),
        (vec!["--densities", "0"], "--densities"),
        (vec!["--densities", "1.5"], "--densities"),
        (vec!["--densities", "-0.5"], "--densities"),
        (vec!["--densities", "x"], "--densities"),
        (vec!["--densities", ","], "--densities"),
        (vec!["--densities", "0.5,,0.1"], "--densities"),
        (vec!["--densities", "0.5,0.5"], "--densities"),
        (vec!["--name", "a/b"], "--name"),
        (vec!["--name", ".hidden"], "--name"),
        (vec!["--densities", "1e-9"], "--densities"),
        (vec!["--methods", "bogus"], "--methods"),
        (vec!["--threads", "-1"], "--threads"),
        (vec!["--shard", "2/2"], "--shard"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--batch-size", "7"], "--batch-size"),
        (vec!["--train-size", "0"], "--train-size"),
        (vec!["--noise-variance", "-1"], "--noise-variance"),
        (vec!["--dataset", "cifar"], "--dataset"),
        (vec!["--loss", "hinge"], "--loss"),
        (vec!["--optimizer", "sgdm"], "--optimizer"),
        (vec!["--format", "xml"], "--format"),
        (vec!["--data", "/tmp"], "--data"),
        (vec!["--train-size", "5"], "--train-size"),
        (vec!["--noise-variance", "1"], "--noise-variance"),
        ([&fashion[..], &["--n", "5"]].concat(), "--n"),
        (
            [&fashion[..], &["--input-dim", "5"]].concat(),
            "--input-dim",
        ),
        (
            [&fashion[..], &["--noise-variance", "1e76"]].concat(),
            "--noise-variance",
        ),
        (
            [&fashion[..], &["--train-size", "8", "--batch-size", "9"]].concat(),
            "--batch-size",
        ),
        (vec!["--lr", "1e-300"], "--lr"),
        (vec!["--lr", "1e300"], "--lr"),
        (vec!["--patience", "0"], "--patience"),
        (vec!["--stop", "converged", "--patience", "5"], "--patience"),
        (vec!["--converge-delta", "0.1"], "--converge-delta"),
        (
            vec!["--stop", "converged", "--converge-epochs", "0"],
            "--converge-epochs",
        ),
        (
            vec!["--stop", "converged", "--converge-delta", "-1"],
            "--converge-delta",
        ),
        (
            [&fashion[..], &["--train-size", "21"]].concat(),
            "--train-size",
        ),
        (
            vec!["--dataset", "fashion-mnist", "--data", "/nonexistent-peff"],
            "--data",
        ),
    ];
    let mut failures = Vec::new();
    for (extra, flag) in &cases {
        let args = tiny(&tmp.path().join("out"), extra);
        let out = peff(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success()
            || err.lines().count() != 1
            || !err.contains(flag)
            || err.contains("panicked")
        {
            failures.push(format!(
                "{extra:?}: status {:?}, stderr {err:?}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A result or shard of another configuration under the same name is not replaced without
/// `--force`, checked before any training; a rerun of the same configuration replaces it.
#[test]
fn results_and_shards_of_another_configuration_are_not_overwritten() {
    let tmp = TempDir::new().unwrap();
    let json = tmp.path().join("memorize-gaussian.json");
    run_tiny(tmp.path(), &["--seeds", "1"]);
    run_tiny(tmp.path(), &["--seeds", "1"]);
    let before = read(&json);
    let other = tiny(tmp.path(), &["--seeds", "1", "--width", "6"]);
    let output = peff(&other);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("holds a result of another configuration") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(read(&json), before);
    run_tiny(tmp.path(), &["--seeds", "1", "--width", "6", "--force"]);
    assert_ne!(read(&json), before);

    run_tiny(tmp.path(), &["--seeds", "2", "--shard", "0/2"]);
    let shard = tiny(
        tmp.path(),
        &["--seeds", "2", "--shard", "0/2", "--width", "6"],
    );
    let output = peff(&shard);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("holds a shard of another configuration")
    );
}

/// The pruning flags reach the run: `--imp-rate 0.5` halves the kept weights per level (112 →
/// 56 → 28, the rows' kept counts), and `--synflow-rounds`, `--grasp-temperature` are recorded
/// in the configuration the methods run with.
#[test]
fn pruning_flags_reach_the_configuration() {
    let tmp = TempDir::new().unwrap();
    let extra = [
        "--imp-rate",
        "0.5",
        "--densities",
        "0.5,0.25",
        "--methods",
        "imp,synflow,grasp",
        "--seeds",
        "1",
        "--synflow-rounds",
        "7",
        "--grasp-temperature",
        "3",
    ];
    let csv = run_tiny(tmp.path(), &extra);
    let kept: Vec<String> = records(&csv)
        .iter()
        .filter(|r| r["method"] == "imp")
        .map(|r| r["kept"].clone())
        .collect();
    assert_eq!(kept, ["56", "28"]);
    let json: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("memorize-gaussian.json"))).unwrap();
    let config = &json["run"]["config"];
    assert_eq!(config["imp_rate"], 0.5);
    assert_eq!(config["levels"], serde_json::json!([1, 2]));
    assert_eq!(config["synflow_rounds"], 7);
    assert_eq!(config["grasp_temperature"], 3.0);
}

/// `peff verify` reruns a memorize result and confirms its rows; a result whose recorded table
/// was altered is refused, naming the first differing row.
#[test]
fn verify_reruns_a_memorize_result() {
    let tmp = TempDir::new().unwrap();
    run_tiny(tmp.path(), &["--seeds", "2", "--threads", "1"]);
    let json = tmp.path().join("memorize-gaussian.json");
    let ok = peff_command().args(["verify"]).arg(&json).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("reproduces its 12 rows"));
    let text = read(&json);
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["rows"][3]["kept"] = serde_json::json!(1);
    std::fs::write(&json, serde_json::to_string(&value).unwrap()).unwrap();
    let bad = peff_command().args(["verify"]).arg(&json).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("row 4"), "{err}");
}

/// A FashionMNIST result records each data file's path and SHA-256, and `peff verify` refuses
/// it once a file has changed.
#[test]
fn fashion_mnist_results_record_their_data_files() {
    let tmp = TempDir::new().unwrap();
    let (images, labels) = tiny_idx();
    let dir = tmp.path().join("data");
    write_set(&dir, &images, &labels, true);
    let out = tmp.path().join("out");
    run_ok(&fashion_args(&dir, &out));
    let json = out.join("memorize-fashion-mnist.json");
    let value: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    let files = value["summary"]["data_files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("train-images-idx3-ubyte.gz"));
    assert_eq!(files[1]["sha256"].as_str().unwrap().len(), 64);
    let ok = peff_command().args(["verify"]).arg(&json).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut changed = labels.clone();
    changed[8] = (changed[8] + 1) % 10;
    write_set(&dir, &images, &changed, true);
    let bad = peff_command().args(["verify"]).arg(&json).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("SHA-256"), "{err}");
}

/// A one-seed table's figure says "1 seed", not "1 seeds" (issue 20).
#[test]
fn one_seed_titles_are_singular() {
    let tmp = TempDir::new().unwrap();
    run_tiny(tmp.path(), &["--seeds", "1", "--threads", "1"]);
    let svg = tmp.path().join("fig.svg");
    let out = peff_command()
        .args(["plot", "figure1a"])
        .arg(tmp.path().join("memorize-gaussian.csv"))
        .arg("--out")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = read(&svg);
    assert!(text.contains("1 seed)") && !text.contains("1 seeds"));
}

/// Two `--densities` that map to the same IMP level are refused, naming both and the level
/// (issue 20: they silently collapsed into one row).
#[test]
fn densities_mapping_to_one_imp_level_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let args = tiny(&out, &["--densities", "0.5,0.52"]);
    let output = peff(&args);
    assert!(!output.status.success());
    let err = String::from_utf8(output.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("`--densities` '0.5' and '0.52' both map to IMP level 3"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `--checkpoint FILE` keeps the finished work when SIGINT stops a run (the stop announced at
/// once), and rerunning the same command resumes to the uninterrupted run's table, byte for
/// byte (issue 20: an interrupted memorize lost every finished seed; issue 28: within a seed,
/// see `a_seed_stopped_anywhere_resumes_to_the_same_result` in the library).
#[test]
fn memorize_checkpoint_resumes_to_the_identical_table() {
    let tmp = TempDir::new().unwrap();
    let many = ["--seeds", "60", "--threads", "1"];
    let reference = run_tiny(&tmp.path().join("reference"), &many);
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let (out, checkpoint) = (dir.join("out"), dir.join("run.ckpt"));
        let mut extra = many.to_vec();
        extra.extend([
            "--checkpoint",
            path_str(&checkpoint),
            "--checkpoint-interval",
            "0",
        ]);
        let args = tiny(&out, &extra);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(output) = common::interrupt_once_written(&argv, &checkpoint) else {
            continue;
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains("stopping: the trainings in progress end at their next epoch"),
            "{stderr}"
        );
        assert!(stderr.contains("checkpoint"), "{stderr}");
        assert!(!out.join("memorize-gaussian.csv").exists());
        let resumed = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(resumed, reference);
        // Another configuration's checkpoint is refused, naming the field.
        let mut other = extra.clone();
        other[1] = "61";
        let err = peff(&tiny(&dir.join("other"), &other));
        assert!(!err.status.success());
        let text = String::from_utf8_lossy(&err.stderr);
        assert!(text.contains("different configuration"), "{text}");
        return;
    }
    panic!("every attempt finished before the signal");
}

/// The JSON called gradient descent `sgd` where the CLI calls it `--optimizer gd` (issue 20).
/// It now says `gd`; a result written with the former spelling is still the same
/// configuration (rerunning it needs no `--force`), and it still verifies.
#[test]
fn the_json_names_the_optimizer_as_the_cli_does() {
    let tmp = TempDir::new().unwrap();
    let json = tmp.path().join("memorize-gaussian.json");
    run_tiny(tmp.path(), &["--seeds", "1", "--optimizer", "gd"]);
    let text = read(&json);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["run"]["config"]["optimizer"]["name"], "gd", "{text}");
    let former = text.replace(r#""name": "gd""#, r#""name": "sgd""#);
    assert_ne!(former, text);
    std::fs::write(&json, &former).unwrap();
    run_ok(&["verify", path_str(&json)]);
    run_tiny(tmp.path(), &["--seeds", "1"]);
    let rerun: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(rerun["run"], value["run"]);
    assert_eq!(rerun["rows"], value["rows"]);
}

/// Issue 28: `plot figure1b` and `figure1c` drew any memorize table; a table of another dataset
/// or network is refused in one line.
#[test]
fn figure_panels_refuse_tables_of_another_dataset_or_network() {
    let tmp = TempDir::new().unwrap();
    run_tiny(tmp.path(), &["--seeds", "1", "--threads", "1"]);
    let csv = tmp.path().join("memorize-gaussian.csv");
    for (figure, phrase) in [
        ("figure1b", "gaussian dataset"),
        ("figure1c", "gaussian dataset"),
    ] {
        let out = peff_command()
            .args(["plot", figure])
            .arg(&csv)
            .arg("--out")
            .arg(tmp.path().join("x.svg"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(phrase),
            "{figure}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Issue 28: `peff verify` passed a memorize result whose `summary` was edited (the dense
/// accuracy, a method's mean epochs); the summary is now recomputed and compared, naming the
/// field, and a key added to a row fails as it does for every kind of result.
#[test]
fn verify_recomputes_the_memorize_summary() {
    let tmp = TempDir::new().unwrap();
    run_tiny(tmp.path(), &["--seeds", "2", "--threads", "1"]);
    let json = tmp.path().join("memorize-gaussian.json");
    run_ok(&["verify", path_str(&json)]);
    let original: Value = serde_json::from_str(&read(&json)).unwrap();
    let edited = tmp.path().join("edited.json");
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 3] = [
        (
            |v| v["summary"]["dense"]["accuracy_mean"] = 0.123.into(),
            "summary.dense.accuracy_mean",
        ),
        (
            |v| v["summary"]["methods"][0]["mean_epochs"] = 7.5.into(),
            "summary.methods[0].mean_epochs",
        ),
        (|v| v["rows"][0]["note"] = "mine".into(), "`note`"),
    ];
    for (edit, phrase) in cases {
        let mut value = original.clone();
        edit(&mut value);
        std::fs::write(&edited, serde_json::to_string_pretty(&value).unwrap()).unwrap();
        let out = peff(&["verify", path_str(&edited)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{phrase}: passed");
        assert!(
            err.contains("verification failed") && err.contains(phrase),
            "{phrase}: {err}"
        );
    }
}

/// Issue 28: `peff verify --data DIR` reruns an image result on the data in DIR (moved data, a
/// merged result); the data there must still be what the result records.
#[test]
fn verify_takes_the_data_directory() {
    let tmp = TempDir::new().unwrap();
    let (images, labels) = tiny_idx();
    let data = tmp.path().join("data");
    write_set(&data, &images, &labels, false);
    let out = tmp.path().join("out");
    let mut args = fashion_args(&data, &out);
    for (flag, value) in [("--seeds", "1"), ("--max-epochs", "20")] {
        let at = args.iter().position(|a| *a == flag).unwrap() + 1;
        args[at] = value;
    }
    run_ok(&args);
    let json = out.join("memorize-fashion-mnist.json");
    let moved = tmp.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    let lost = peff(&["verify", path_str(&json)]);
    assert!(!lost.status.success());
    let said = run_ok(&["verify", path_str(&json), "--data", path_str(&moved)]);
    assert!(said.contains("verified"), "{said}");
    // Other data is refused by its SHA-256.
    let other = tmp.path().join("other");
    let mut changed = images.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    write_set(&other, &changed, &labels, false);
    let refused = peff(&["verify", path_str(&json), "--data", path_str(&other)]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("does not hold the data"), "{err}");
    // Gaussian data is generated: `--data` is refused for it.
    run_tiny(tmp.path(), &["--seeds", "1", "--threads", "1"]);
    let gaussian = tmp.path().join("memorize-gaussian.json");
    let refused = peff(&["verify", path_str(&gaussian), "--data", path_str(&moved)]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`--data` is for image results"));
}

/// Issue 28: a resumed memorize run says so on stderr, and its `wall_seconds` covers the
/// earlier parts (the time its checkpoint records).
#[test]
fn resumed_memorize_run_says_so_and_counts_the_earlier_time() {
    let tmp = TempDir::new().unwrap();
    let checkpoint = tmp.path().join("run.ckpt");
    let args = tiny(
        tmp.path(),
        &[
            "--seeds",
            "2",
            "--threads",
            "1",
            "--checkpoint",
            path_str(&checkpoint),
        ],
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&argv);
    common::set_checkpoint_wall_seconds(&checkpoint, 1000.0);
    let output = peff(&argv);
    assert!(output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(&format!(
            "resuming from checkpoint '{}': 2 of 2 seeds finished, 0 in progress",
            checkpoint.display()
        )),
        "{err}"
    );
    let wall = common::result_wall_seconds(&tmp.path().join("memorize-gaussian.json"));
    assert!(wall >= 1000.0, "wall_seconds {wall}");
}

/// Issue 28: a checkpoint save that failed was kept until the run ended and then returned as
/// the error, throwing every finished seed away. It is now a warning, and the run still writes
/// its table, the same as an uninterrupted run's.
#[test]
fn failed_checkpoint_save_still_writes_the_memorize_table() {
    let tmp = TempDir::new().unwrap();
    let many = ["--seeds", "60", "--threads", "1"];
    let reference = run_tiny(&tmp.path().join("reference"), &many);
    for attempt in 0..3 {
        let dir = tmp.path().join(format!("attempt{attempt}"));
        let (out, checkpoint) = (dir.join("out"), dir.join("ckpt/run.ckpt"));
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        let mut extra = many.to_vec();
        extra.extend([
            "--checkpoint",
            path_str(&checkpoint),
            "--checkpoint-interval",
            "0",
        ]);
        let args = tiny(&out, &extra);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(output) = common::break_checkpoint_dir_once_written(&argv, &checkpoint) else {
            continue;
        };
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
        assert!(err.contains("warning: saving the checkpoint"), "{err}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), reference);
        return;
    }
    panic!("every attempt finished before the checkpoint directory was replaced");
}

/// Issue 28: GraSP's non-finite scores (a tiny `--grasp-temperature`) were counted and
/// announced as diverged training; they are now reported as GraSP's non-finite scores.
#[test]
fn non_finite_grasp_scores_are_reported_as_such() {
    let tmp = TempDir::new().unwrap();
    let args = tiny(
        tmp.path(),
        &[
            "--seeds",
            "1",
            "--threads",
            "1",
            "--methods",
            "grasp",
            "--grasp-temperature",
            "1e-300",
        ],
    );
    let output = peff(&args);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("GraSP's scores were not all finite"), "{err}");
    assert!(!err.contains("training runs diverged"), "{err}");
}

/// Issue 28: under a memory limit (`ulimit -v`), a run whose weights do not fit was accepted
/// (the estimate left out everything proportional to the parameter count) and aborted with
/// "memory allocation of … failed". It is refused before any work, naming the estimate, the
/// address-space limit and the flags to lower.
#[test]
fn weights_beyond_ulimit_v_are_refused_before_any_work() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 4.2 million weights: about 1 GiB at 240 B per weight, beyond 586 MiB of address space.
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[],
        &[
            "memorize",
            "--n",
            "100",
            "--input-dim",
            "100",
            "--width",
            "2000",
            "--seeds",
            "1",
            "--threads",
            "1",
            "--out",
            path_str(&out),
        ],
    );
    assert!(line.contains("this run needs about"), "{line}");
    assert!(line.contains("address-space limit (ulimit -v"), "{line}");
    assert!(line.contains("`--width`"), "{line}");
    assert!(!out.exists(), "nothing is written on error");
}

/// Issue 28: an allocation that fails although the estimate admitted the run (here the limit
/// is assumed far larger than `ulimit -v` allows, as a limit peff cannot read would be) ends
/// the run with one line and status 1, not an abort (status 134).
#[test]
fn an_allocation_failure_the_estimate_missed_is_one_line_not_an_abort() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 200,000 points of 1,000 inputs: 1.6 GB in f64.
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[("PEFF_MEMORY_LIMIT", "1T")],
        &[
            "memorize",
            "--n",
            "200000",
            "--input-dim",
            "1000",
            "--width",
            "1",
            "--seeds",
            "1",
            "--threads",
            "1",
            "--out",
            path_str(&out),
        ],
    );
    assert!(line.contains("out of memory"), "{line}");
    let written = std::fs::read_dir(&out).map_or(0, |d| d.count());
    assert_eq!(written, 0, "no result is written on error");
}

/// Issue 28: `peff verify` reran a memorize result without the memory check the command
/// applies; under a limit the rerun does not fit, it is refused the same way.
#[test]
fn verify_applies_the_memory_check_of_memorize() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    // 2.4 million weights, one cheap method and level: about 0.6 GiB estimated, a second's run.
    peff_command()
        .args([
            "memorize",
            "--n",
            "100",
            "--input-dim",
            "100",
            "--width",
            "1500",
            "--seeds",
            "1",
            "--threads",
            "1",
            "--methods",
            "random",
            "--densities",
            "0.5",
            "--max-epochs",
            "1",
            "--name",
            "big",
            "--out",
            path_str(&out),
        ])
        .assert()
        .success();
    let json = out.join("big.json");
    let line = common::one_line_error_under_ulimit_v(
        600_000,
        &[],
        &["verify", path_str(&json), "--threads", "1"],
    );
    assert!(
        line.contains("rerunning it: this run needs about"),
        "{line}"
    );
    assert!(line.contains("address-space limit"), "{line}");
}

/// `--data` naming a file, a missing path or a dangling link said "has no train-images…" (and,
/// for CIFAR-10, "has no data_batch_1.bin"). Each now says what the path is, in one line.
#[test]
fn data_that_is_not_a_directory_says_what_it_is() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let gone = tmp.path().join("gone");
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(&gone, &dangling).unwrap();
    let to_file = tmp.path().join("to-file");
    std::os::unix::fs::symlink(&file, &to_file).unwrap();
    let out = tmp.path().join("out");
    let dangling_phrase = format!("is a dangling link to '{}'", gone.display());
    let to_file_phrase = format!("is a link to '{}', a file, not a directory", file.display());
    let cases = [
        (file.clone(), "is a file, not a directory"),
        (tmp.path().join("nowhere"), "does not exist"),
        (dangling, dangling_phrase.as_str()),
        (to_file, to_file_phrase.as_str()),
    ];
    for (dir, phrase) in &cases {
        for dataset in [["--dataset", "fashion-mnist"], ["--dataset", "cifar10"]] {
            let mut args = vec!["memorize", dataset[0], dataset[1]];
            if dataset[1] == "cifar10" {
                args.extend(["--arch", "conv"]);
            }
            args.extend(["--data", path_str(dir), "--out", path_str(&out)]);
            let line = expect_error(&args, &["`--data`", phrase]);
            assert!(!line.contains("has no"), "{line}");
        }
    }
    assert!(!out.exists());
}

/// Issue 28: a small MLP failed with the internal "level 15 does not keep 1 weights"; the default
/// densities it cannot reach are left out with a note, and the run completes.
#[test]
fn small_networks_run_the_default_levels_they_reach() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_, stderr) = run_ok_with_stderr(&[
        "memorize",
        "--width",
        "2",
        "--depth",
        "1",
        "--seeds",
        "1",
        "--n",
        "4",
        "--input-dim",
        "2",
        "--max-epochs",
        "5",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(stderr.contains("reach IMP level"), "{stderr}");
    assert!(!stderr.contains("does not keep"), "{stderr}");
}

/// Issue 28: a tiny `--imp-rate` meant millions of IMP levels, each a training run, and ran
/// without a word; past 100,000 levels it is refused in one line (the warning below that is
/// tested in `cli::memorize`).
#[test]
fn tiny_imp_rates_are_refused_with_the_level_count() {
    expect_error(
        &[
            "memorize",
            "--imp-rate",
            "1e-9",
            "--width",
            "4000",
            "--depth",
            "2",
            "--seeds",
            "1",
            "--out",
            "/nonexistent/never",
        ],
        &["--imp-rate", "levels per seed", "at most 100000"],
    );
}

/// The real FashionMNIST training set, as Debian's `dataset-fashion-mnist` package installs it
/// (`.ci/run` installs the package): 60,000 images of 28 × 28 pixels, 6,000 per class, read by
/// the same loader `peff memorize --dataset fashion-mnist` uses, with each file's path and the
/// SHA-256 of its decompressed contents recorded.
#[test]
fn the_real_training_set_has_60000_images_of_28_by_28_and_6000_per_class() {
    let dir = Path::new(DEBIAN_FASHION_MNIST_DIR);
    let set = load_fashion_mnist_train(dir).unwrap_or_else(|e| {
        panic!("{e} (install Debian's dataset-fashion-mnist package; .ci/run does)")
    });
    assert_eq!(set.images.count, 60_000);
    assert_eq!((set.images.rows, set.images.cols), (28, 28));
    assert_eq!(set.images.pixels.len(), 60_000 * 784);
    let mut per_class = [0usize; 10];
    for &label in &set.labels {
        per_class[label as usize] += 1;
    }
    assert_eq!(per_class, [6_000; 10]);
    // Pixels use the whole byte range (the images are not blank or clipped).
    assert_eq!(set.images.pixels.iter().copied().max(), Some(255));
    assert_eq!(set.images.pixels.iter().copied().min(), Some(0));
    assert_eq!(set.files.len(), 2);
    for (file, name) in set
        .files
        .iter()
        .zip(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
    {
        assert!(file.path.ends_with(name), "{}", file.path);
        assert_eq!(file.sha256.len(), 64);
        assert!(file.check().is_ok());
    }
}
