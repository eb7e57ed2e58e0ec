//! `peff merge` (SPEC §9): shards of an exact or sampled run merge into the unsharded table
//! byte for byte (in any order); incomplete, inconsistent, edited (even re-signed), oversized or
//! huge-count sets are refused with one line saying which shard is wrong and what differs; a
//! merge names its result after its shards, never replaces a shard, and skips an earlier
//! merge's result. Files of earlier versions: `compat.rs`.
//!
//! Every run uses a tiny configuration in a fresh `TempDir`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    expect_error, path_str, read, resign, run_ok, run_ok_with_stderr, toy, with, NOISE_CORR,
    NOISE_CORR_BASE,
};
use serde_json::Value;
use tempfile::TempDir;

/// `peff merge` refuses incomplete or inconsistent sets of shards with one line saying which
/// shard is wrong: a missing shard, a shard given twice, a shard of another configuration, a
/// different shard count, an edited (checksum-mismatching) or truncated file, a missing file.
/// Fails if any of these merged into a table.
#[test]
fn merge_rejects_bad_sets_of_shards() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let shard = |i: &str, steps: &str, sub: &str| -> String {
        let out = dir.join(sub);
        let stdout = run_ok(&[
            "exact",
            "--n",
            "2",
            "--input-dim",
            "2",
            "--steps",
            steps,
            "--methods",
            "magnitude,snip",
            "--out",
            path_str(&out),
            "--shard",
            i,
        ]);
        stdout.lines().last().unwrap().to_string()
    };
    let s0 = shard("0/3", "50", "a");
    let s1 = shard("1/3", "50", "a");
    let s2 = shard("2/3", "50", "a");
    let other = shard("1/3", "51", "b");
    let halves = shard("1/2", "50", "c");
    let text = read(Path::new(&s2));
    let weight = text.find("\"total_weight\":\"").unwrap() + "\"total_weight\":\"".len();
    let mut edited = text.clone();
    edited.insert(weight, '1');
    let edited_path = dir.join("edited.json");
    std::fs::write(&edited_path, edited).unwrap();
    let truncated_path = dir.join("truncated.json");
    std::fs::write(&truncated_path, &text[..text.len() / 2]).unwrap();
    let missing = dir.join("nope.json");
    let out = dir.join("merged");
    let merge = |files: &[&str], phrases: &[&str]| {
        let mut args = vec!["merge", "--out", path_str(&out)];
        args.extend(files);
        expect_error(&args, phrases);
    };
    merge(&[&s0, &s1], &["missing shards: 2/3"]);
    merge(&[&s0, &s1, &s1, &s2], &["shard 1/3 is given twice"]);
    merge(
        &[&s0, &other, &s2],
        &["shard 1/3 belongs to a different configuration than shard 0/3"],
    );
    merge(&[&s0, &halves, &s2], &["shard counts differ"]);
    merge(
        &[&s0, &s1, path_str(&edited_path)],
        &["edited.json", "checksum mismatch"],
    );
    merge(
        &[&s0, &s1, path_str(&truncated_path)],
        &["truncated.json", "not a peff partial-result file"],
    );
    merge(&[&s0, &s1, path_str(&missing)], &["nope.json"]);
    // The complete set merges: the failures above are about the files, not the setup.
    run_ok(&["merge", "--out", path_str(&out), &s2, &s0, &s1]);
    assert!(out.join("exact-regression.csv").is_file());
}

/// Shard counts beyond 10^6 are refused up front with a one-line error naming `--shard` (merge
/// once allocated a flag per shard and panicked with "capacity overflow" for N = 2^64 − 1).
#[test]
fn merge_of_a_huge_shard_count_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for shard in ["5/18446744073709551615", "0/1000001"] {
        expect_error(
            &[
                "exact",
                "--n",
                "2",
                "--input-dim",
                "2",
                "--steps",
                "50",
                "--out",
                out,
                "--shard",
                shard,
            ],
            &["`--shard`", "1000000"],
        );
    }
}

/// Issue 28: a shard file beyond `merge`'s 4 GiB limit was read up to the limit before it was
/// refused; it is now refused by its size (file metadata) before any byte is read, in one line
/// naming the limit. The file is sparse, so the test writes nothing.
#[test]
fn merge_refuses_an_oversized_shard_by_its_size() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("huge.shard-0-of-1.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let started = Instant::now();
    let err = expect_error(
        &["merge", path_str(&path), "--out", path_str(tmp.path())],
        &["shard file", "5368709120 bytes", "limit of 4 GiB"],
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it read the file"
    );
}

/// Runs `args` as 7 shards and merges them; returns (unsharded CSV, merged CSV, unsharded JSON
/// path, merged JSON path). Each shard must print its partial file's path as its last line.
fn shard_and_merge(tmp: &Path, args: &[&str]) -> (String, String, PathBuf, PathBuf) {
    let whole_out = tmp.join("whole");
    let mut whole = args.to_vec();
    whole.extend(["--out", path_str(&whole_out), "--format", "csv"]);
    let unsharded = run_ok(&whole);
    let shard_out = tmp.join("shards");
    let files: Vec<String> = (0..7)
        .map(|i| {
            let spec = format!("{i}/7");
            let mut shard = args.to_vec();
            shard.extend(["--out", path_str(&shard_out), "--shard", &spec]);
            let stdout = run_ok(&shard);
            let last = stdout.lines().last().unwrap().to_string();
            assert!(last.ends_with(&format!(".shard-{i}-of-7.json")), "{stdout}");
            assert!(Path::new(&last).is_file(), "{last}");
            last
        })
        .collect();
    let merged_out = tmp.join("merged");
    let mut merge = vec!["merge", "--format", "csv", "--out", path_str(&merged_out)];
    // Shards may be given in any order.
    merge.extend(files.iter().rev().map(String::as_str));
    let merged = run_ok(&merge);
    let json_in = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .unwrap()
    };
    (unsharded, merged, json_in(&whole_out), json_in(&merged_out))
}

fn read_csv_beside(json: &Path) -> String {
    read(&json.with_extension("csv"))
}

/// The pmf hash recorded in a JSON result.
fn pmf_hash(json: &Path) -> String {
    let value: Value = serde_json::from_str(&read(json)).unwrap();
    value["pmf_sha256"].as_str().unwrap().to_string()
}

/// An exact run split into 7 shards and merged gives the unsharded CSV byte for byte and the
/// same pmf hash; `peff verify` accepts the unsharded and the merged JSON and rejects one
/// whose pmf hash was edited. Fails if shard ranges overlap or leave gaps, or if merging
/// loses or double-counts weight.
#[test]
fn merged_exact_shards_equal_the_unsharded_run() {
    let tmp = TempDir::new().unwrap();
    let (unsharded, merged, whole_json, merged_json) = shard_and_merge(
        tmp.path(),
        &["exact", "--n", "3", "--steps", "100", "--k", "3,10,17"],
    );
    assert_eq!(merged, unsharded);
    assert_eq!(read_csv_beside(&merged_json), unsharded);
    assert_eq!(pmf_hash(&merged_json), pmf_hash(&whole_json));

    for json in [&whole_json, &merged_json] {
        let stdout = run_ok(&["verify", path_str(json), "--threads", "2"]);
        assert!(stdout.contains("verified"), "{stdout}");
    }
    let hash = pmf_hash(&whole_json);
    let flipped = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    let tampered = tmp.path().join("tampered.json");
    std::fs::write(&tampered, read(&whole_json).replace(&hash, &flipped)).unwrap();
    expect_error(
        &["verify", path_str(&tampered)],
        &["verification failed", &flipped, &hash],
    );
}

/// A sampled run (500 datasets, random pruning included) split into 7 shards and merged gives
/// the unsharded CSV byte for byte: each dataset's and each random mask's stream is keyed by
/// its index, not by its position in a shard.
#[test]
fn merged_sample_shards_equal_the_unsharded_run() {
    let tmp = TempDir::new().unwrap();
    let (unsharded, merged, whole_json, merged_json) = shard_and_merge(
        tmp.path(),
        &[
            "sample",
            "--n",
            "3",
            "--input-dim",
            "2",
            "--steps",
            "100",
            "--methods",
            "random,magnitude,snip",
            "--k",
            "3,8",
            "--samples",
            "500",
        ],
    );
    assert_eq!(merged, unsharded);
    assert_eq!(pmf_hash(&merged_json), pmf_hash(&whole_json));
}

/// `peff merge … --name <an input shard's name>` replaced its own input with the result. A
/// result now never replaces a shard file (or checkpoint), `--force` or not.
#[test]
fn a_result_never_replaces_a_shard_file() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let stdout = run_ok(&with(&NOISE_CORR, &["--out", out, "--shard", &shard]));
        shards.push(stdout.trim().to_string());
    }
    let before = read(Path::new(&shards[0]));
    let stem = Path::new(&shards[0])
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for force in [false, true] {
        let mut args = vec![
            "merge", &shards[0], &shards[1], "--out", out, "--name", &stem,
        ];
        if force {
            args.push("--force");
        }
        expect_error(
            &args,
            &["a result never replaces", "choose another `--name`"],
        );
    }
    assert_eq!(read(Path::new(&shards[0])), before);
}

/// `peff merge shards/*.json` run a second time failed on the first merge's own result, which
/// the glob now matches. That result is of the same run: it is skipped with a note.
#[test]
fn merging_twice_skips_the_first_merges_result() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for i in 0..2 {
        let shard = format!("{i}/2");
        run_ok(&with(&NOISE_CORR, &["--out", out, "--shard", &shard]));
    }
    let files = || -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| p.to_str().unwrap().to_string())
            .collect();
        files.sort();
        files
    };
    let merge = |files: &[String]| {
        let mut args = vec!["merge", "--out", out, "--format", "csv"];
        args.extend(files.iter().map(String::as_str));
        run_ok_with_stderr(&args)
    };
    let (first, _) = merge(&files());
    assert_eq!(files().len(), 3);
    let (second, stderr) = merge(&files());
    assert_eq!(first, second);
    assert!(stderr.contains("skipping"), "{stderr}");
    // A result of another run among the shards is still refused.
    let other = tmp.path().join("other");
    run_ok(&with(
        &NOISE_CORR_BASE,
        &[
            "--out",
            path_str(&other),
            "--epochs-per-level",
            "2",
            "--seeds",
            "1",
            "--name",
            "x",
        ],
    ));
    let mut args = files();
    args.push(other.join("x.json").to_str().unwrap().to_string());
    let mut full = vec!["merge", "--out", out];
    full.extend(args.iter().map(String::as_str));
    expect_error(&full, &["is a result file", "not a shard file"]);
}

/// "Shard 1/3 belongs to a different configuration" did not say what differs: it now names
/// the field and both values.
#[test]
fn shards_of_different_configurations_name_the_field_that_differs() {
    let tmp = TempDir::new().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let s0 = run_ok(&with(
        &NOISE_CORR,
        &["--out", path_str(&a), "--shard", "0/2"],
    ));
    let s1 = run_ok(&with(
        &NOISE_CORR,
        &[
            "--out",
            path_str(&b),
            "--shard",
            "1/2",
            "--noise-variance",
            "2",
        ],
    ));
    expect_error(
        &["merge", s0.trim(), s1.trim(), "--out", path_str(tmp.path())],
        &[
            "different configuration",
            "`run.config.data.noise_variance`",
            "2.0",
            "1.0",
        ],
    );
}

/// Hand-edited shards with a recomputed checksum: an empty range with zero tallies merged into
/// a wrong table, and `diverged` wrapped to 2^64 − 2. Ranges, totals and overflow are checked.
#[test]
fn edited_shards_with_valid_checksums_cannot_merge_into_a_wrong_table() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let stdout = run_ok(&toy(
            "exact",
            out,
            &["--methods", "snip", "--k", "5", "--shard", &shard],
        ));
        shards.push(std::path::PathBuf::from(stdout.trim()));
    }
    let read = |p: &Path| peff::experiments::toy::partial::Partial::read(p).unwrap();
    let edited = tmp.path().join("edited.json");
    let merge_with = |second: &Path, phrase: &str| {
        expect_error(
            &[
                "merge",
                path_str(&shards[0]),
                path_str(second),
                "--out",
                out,
            ],
            &[phrase],
        )
    };
    // Shard 1 emptied: its range [18, 18) and zero tallies.
    let mut p = read(&shards[1]);
    p.payload.start = p.payload.end;
    p.payload.done = 0;
    for row in &mut p.payload.rows {
        row.total_weight = "0".into();
        row.tie_weight = "0".into();
        row.diverged_weight = "0".into();
        row.diverged_datasets = 0;
        row.masks.clear();
    }
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Zero tallies over the right range.
    let mut p = read(&shards[1]);
    for row in &mut p.payload.rows {
        row.total_weight = "0".into();
        row.tie_weight = "0".into();
        row.diverged_weight = "0".into();
        row.masks.clear();
    }
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Diverged counts near 2^64 that would wrap when added.
    let mut p = read(&shards[1]);
    p.payload.rows[0].diverged_datasets = u64::MAX - 1;
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(&edited, "edited.json");
    // Weights moved from one mask to a new one: totals still add up, so this is a valid pmf of
    // another run; but weights scaled up break the run's total V^n.
    let mut p = read(&shards[1]);
    let row = &mut p.payload.rows[0];
    let scaled: u128 = row.total_weight.parse::<u128>().unwrap() * 2;
    row.total_weight = scaled.to_string();
    for (_, w) in &mut row.masks {
        *w = (w.parse::<u128>().unwrap() * 2).to_string();
    }
    row.tie_weight = "0".into();
    std::fs::write(&edited, resign(p)).unwrap();
    merge_with(
        &edited,
        "weights add up to 95 for snip k=5, not the run's total 64",
    );
    // The genuine shards merge.
    run_ok(&[
        "merge",
        path_str(&shards[0]),
        path_str(&shards[1]),
        "--out",
        out,
        "--name",
        "merged",
    ]);
}

/// Issue 28: `peff merge shards/NAME.shard-*.json` wrote the command's default result name, so
/// the README's per-method recipe failed at its second method; the shards' stem now names the
/// result unless `--name` says otherwise.
#[test]
fn merge_names_the_result_after_its_shards() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().to_str().unwrap();
    for method in ["random", "magnitude"] {
        let name = format!("tiny-{method}");
        for shard in ["0/2", "1/2"] {
            run_ok(&[
                "exact",
                "--n",
                "2",
                "--steps",
                "50",
                "--methods",
                method,
                "--shard",
                shard,
                "--name",
                &name,
                "--out",
                out,
            ]);
        }
        let shards: Vec<String> = (0..2)
            .map(|i| format!("{out}/{name}.shard-{i}-of-2.json"))
            .collect();
        let mut args = vec!["merge", "--out", out];
        args.extend(shards.iter().map(String::as_str));
        run_ok(&args);
        assert!(
            dir.path().join(format!("{name}.csv")).exists(),
            "{name}.csv"
        );
    }
    assert!(!dir.path().join("exact-regression.csv").exists());
}
