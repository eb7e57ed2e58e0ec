//! `peff memorize --arch conv` end to end (the paper's Fig. 1c): the ConvNet on tiny image sets
//! the tests write (IDX for FashionMNIST, the exact CIFAR-10 binary format), its configuration
//! recorded, the table the same bytes for any thread count and for merged shards, `verify`
//! reproducing it, `plot figure1c` drawing it, and one-line errors for flags that do not fit the network or the data, and
//! for runs larger than the machine's memory.
//!
//! Every run is tiny (≤ 16 images, 2 channels, 1–2 convolutions, ≤ 3 epochs, 2 seeds).

mod common;

use std::path::Path;

use common::{path_str, peff, run_ok};
use peff::data::cifar::{encode_records, RECORDS_PER_FILE, TRAIN_FILES};
use peff::data::idx::{encode_images, encode_labels};
use serde_json::Value;
use tempfile::TempDir;

/// The one-line error of a failing run.
fn run_err(args: &[&str]) -> String {
    let output = peff(args);
    assert!(
        !output.status.success(),
        "peff {} succeeded",
        args.join(" ")
    );
    assert!(
        matches!(output.status.code(), Some(1 | 2)),
        "peff {}: {:?}",
        args.join(" "),
        output.status
    );
    let err = String::from_utf8(output.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

/// 16 images of 6 × 6 with labels 0..9, as an IDX pair in `dir`.
fn write_idx(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let pixels: Vec<u8> = (0..16 * 36u32).map(|i| (i * 53 % 256) as u8).collect();
    let labels: Vec<u8> = (0..16u8).map(|i| i % 10).collect();
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        encode_images(6, 6, &pixels),
    )
    .unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), encode_labels(&labels)).unwrap();
}

/// The five CIFAR-10 training files, full size (10,000 records each), in `dir`.
fn write_cifar(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (f, name) in TRAIN_FILES.iter().enumerate() {
        let labels: Vec<u8> = (0..RECORDS_PER_FILE)
            .map(|i| ((i + f) % 10) as u8)
            .collect();
        let pixels: Vec<u8> = (0..RECORDS_PER_FILE * 3072)
            .map(|p| ((p * 31 + f * 7) % 256) as u8)
            .collect();
        std::fs::write(dir.join(name), encode_records(&labels, &pixels)).unwrap();
    }
}

/// The tiny ConvNet run on FashionMNIST-format files in `data`, writing into `out`; flags in
/// `extra` replace the defaults of the same name.
fn conv_args<'a>(data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let defaults: [(&str, &str); 10] = [
        ("--dataset", "fashion-mnist"),
        ("--arch", "conv"),
        ("--train-size", "12"),
        ("--channels", "2"),
        ("--depth", "2"),
        ("--seeds", "2"),
        ("--densities", "0.5,0.1"),
        ("--max-epochs", "3"),
        ("--format", "csv"),
        ("--data", ""),
    ];
    let mut args = vec!["memorize", "--out", path_str(out)];
    let mlp = extra.windows(2).any(|w| w == ["--arch", "mlp"]);
    for (flag, value) in defaults {
        if extra.contains(&flag) || (mlp && flag == "--channels") {
            continue;
        }
        args.push(flag);
        args.push(if flag == "--data" {
            path_str(data)
        } else {
            value
        });
    }
    args.extend_from_slice(extra);
    args
}

/// The ConvNet's table has a row per method and density, its kept counts those of the network
/// (1·2·9 + 2·2·9 + 10·2·36 = 774 weights), its configuration recorded under `--arch conv`'s
/// fields; two threads, and two shards merged, give the same bytes; `verify` reproduces it.
#[test]
fn conv_runs_are_deterministic_and_recorded() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("idx");
    write_idx(&data);
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let one = run_ok(&conv_args(&data, &a, &["--threads", "1"]));
    let two = run_ok(&conv_args(&data, &b, &["--threads", "2"]));
    assert_eq!(one, two);
    let rows: Vec<&str> = one
        .lines()
        .filter(|l| l.starts_with("fashion-mnist,"))
        .collect();
    assert_eq!(rows.len(), 12, "{one}");
    let weights = 18 + 36 + 720;
    for row in &rows {
        let kept: usize = row.split(',').nth(3).unwrap().parse().unwrap();
        assert!(kept < weights && kept > 0, "{row}");
    }
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(a.join("memorize-conv-fashion-mnist.json")).unwrap(),
    )
    .unwrap();
    let config = &json["run"]["config"];
    assert_eq!(config["image_shape"], serde_json::json!([1, 6, 6]));
    assert_eq!(config["convolutions"], 2);
    assert_eq!(config["channels"], 2);
    assert_eq!(config["classes"], 10);
    assert!(config.get("widths").is_none());

    let shards = tmp.path().join("shards");
    for i in ["0/2", "1/2"] {
        run_ok(&conv_args(
            &data,
            &shards,
            &["--shard", i, "--format", "json"][..],
        ));
    }
    let parts: Vec<String> = std::fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert_eq!(parts.len(), 2);
    let mut merge = vec!["merge", "--out", path_str(&c), "--format", "csv"];
    merge.extend(parts.iter().map(String::as_str));
    run_ok(&merge);
    assert_eq!(
        std::fs::read_to_string(c.join("memorize-conv-fashion-mnist.csv")).unwrap(),
        std::fs::read_to_string(a.join("memorize-conv-fashion-mnist.csv")).unwrap()
    );
    let verified = run_ok(&[
        "verify",
        path_str(&a.join("memorize-conv-fashion-mnist.json")),
    ]);
    assert!(verified.starts_with("verified"), "{verified}");
    let svg = tmp.path().join("figure1c.svg");
    run_ok(&[
        "plot",
        "figure1c",
        path_str(&a.join("memorize-conv-fashion-mnist.csv")),
        "--out",
        path_str(&svg),
    ]);
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("ConvNet train accuracy on noisy data (fashion-mnist, 2 seeds)"));
}

/// `--dataset cifar10` reads the binary files (the ConvNet by default, on 3 × 32 × 32), records
/// their SHA-256, and its rows are named `cifar10`.
#[test]
fn cifar10_runs_from_binary_files() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("cifar-10-batches-bin");
    write_cifar(&data);
    let out = tmp.path().join("out");
    let table = run_ok(&[
        "memorize",
        "--dataset",
        "cifar10",
        "--data",
        path_str(&data),
        "--train-size",
        "8",
        "--channels",
        "2",
        "--depth",
        "1",
        "--seeds",
        "1",
        "--methods",
        "random,magnitude",
        "--densities",
        "0.5",
        "--max-epochs",
        "2",
        "--format",
        "csv",
        "--out",
        path_str(&out),
    ]);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("cifar10,"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("memorize-cifar10.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["run"]["config"]["image_shape"],
        serde_json::json!([3, 32, 32])
    );
    assert_eq!(json["run"]["config"]["dataset"]["name"], "cifar10");
    assert_eq!(json["run"]["config"]["dataset"]["images"], 50_000);
    let files = json["summary"]["data_files"].as_array().unwrap();
    assert_eq!(files.len(), 5);
    assert!(files[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("data_batch_1.bin"));
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
}

/// Flags that do not fit the network or the data, and networks too large, are refused in one
/// line naming the flag, before any work and with nothing written.
#[test]
fn conv_flags_that_do_not_fit_fail_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("idx");
    write_idx(&data);
    let out = tmp.path().join("out");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--width", "8"],
            "`--width` does not apply to `--arch conv`",
        ),
        (
            &["--channels", "0"],
            "`--channels` must be in [1, 4096], got 0",
        ),
        (
            &["--channels", "-3"],
            "`--channels` must be in [1, 4096], got -3",
        ),
        (&["--depth", "0"], "`--depth` must be in [1, 100], got 0"),
        (
            &["--arch", "mlp", "--channels", "4"],
            "`--channels` does not apply to `--arch mlp`",
        ),
    ];
    for (extra, want) in cases {
        let err = run_err(&conv_args(&data, &out, extra));
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    let gaussian = run_err(&["memorize", "--arch", "conv", "--out", path_str(&out)]);
    assert!(
        gaussian.contains("`--arch conv` needs images"),
        "{gaussian}"
    );
    let no_data = run_err(&["memorize", "--dataset", "cifar10", "--out", path_str(&out)]);
    assert!(
        no_data.contains("`--dataset cifar10` needs `--data DIR`"),
        "{no_data}"
    );
    let missing = run_err(&[
        "memorize",
        "--dataset",
        "cifar10",
        "--data",
        path_str(&data),
        "--out",
        path_str(&out),
    ]);
    assert!(missing.contains("has no data_batch_1.bin"), "{missing}");
    // 4,096 channels on 6 × 6 images, 100 convolutions: 1.5·10^9 parameters.
    let huge = run_err(&conv_args(
        &data,
        &out,
        &["--channels", "4096", "--depth", "100"],
    ));
    assert!(huge.contains("parameters"), "{huge}");
    assert!(!out.exists(), "nothing is written on error");
}

/// A run whose data and buffers exceed the machine's memory is refused before allocating, the
/// error naming the size (issue 20: `--n 1000000 --input-dim 1000000` aborted on allocation).
#[test]
fn runs_larger_than_memory_are_refused_with_their_size() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let err = run_err(&[
        "memorize",
        "--n",
        "1000000",
        "--input-dim",
        "1000000",
        "--width",
        "1",
        "--out",
        path_str(&out),
    ]);
    assert!(err.contains("this run needs about"), "{err}");
    assert!(err.contains("GiB"), "{err}");
    assert!(!out.exists());
}
