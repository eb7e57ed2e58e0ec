//! Files written by earlier versions of peff still read: the shard files and the result file in
//! `tests/fixtures/shards-cfb65d4/` were written by the binary of commit `cfb65d4`; `peff merge`
//! must merge each set into the table that binary's merge printed, byte for byte, and `peff
//! verify` must accept its result file.

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::read;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "shards-cfb65d4",
        name,
    ]
    .iter()
    .collect()
}

/// Merges the two shards `<stem>.shard-{0,1}-of-2.json` (given in reverse order) into a
/// temporary directory; returns the printed table and the CSV written.
fn merge_old_shards(stem: &str) -> (String, String) {
    let tmp = TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(["merge", "--format", "csv", "--name", stem, "--out"])
        .arg(tmp.path())
        .arg(fixture(&format!("{stem}.shard-1-of-2.json")))
        .arg(fixture(&format!("{stem}.shard-0-of-2.json")))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "merge of {stem} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = read(&tmp.path().join(format!("{stem}.csv")));
    (String::from_utf8(output.stdout).unwrap(), written)
}

/// The merge of `<stem>`'s old shards prints and writes `<stem>.csv`, the table the old binary
/// merged them into.
fn merges_as_before(stem: &str) {
    let (printed, written) = merge_old_shards(stem);
    let expected = read(&fixture(&format!("{stem}.csv")));
    assert_eq!(printed, expected);
    assert_eq!(written, expected);
}

#[test]
fn old_exact_shards_merge_into_the_old_table() {
    merges_as_before("exact-tiny");
}

/// Old memorize shards carry no accuracy (it was recorded from the Figure 1(b) change on): the
/// merge gives the old table's columns unchanged and leaves `accuracy_mean` and `accuracy_se`
/// empty.
#[test]
fn old_memorize_shards_merge_into_the_old_table() {
    let stem = "memorize-tiny";
    let (printed, written) = merge_old_shards(stem);
    assert_eq!(printed, written);
    let table = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let new = table(&printed);
    let old = table(&read(&fixture(&format!("{stem}.csv"))));
    assert_eq!(new.len(), old.len());
    let at = |header: &[String], name: &str| header.iter().position(|h| h == name).unwrap();
    for name in ["accuracy_mean", "accuracy_se"] {
        let j = at(&new[0], name);
        assert!(
            new[1..].iter().all(|row| row[j].is_empty()),
            "{name} must be empty"
        );
    }
    for name in &old[0] {
        let (i, j) = (at(&old[0], name), at(&new[0], name));
        for (o, n) in old[1..].iter().zip(&new[1..]) {
            assert_eq!(o[i], n[j], "column {name}");
        }
    }
}

#[test]
fn old_noise_corr_shards_merge_into_the_old_table() {
    merges_as_before("noise-corr-tiny");
}

/// The old merged result (JSON with its CSV beside it) still verifies.
#[test]
fn old_result_file_verifies() {
    Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(["verify", "--threads", "1"])
        .arg(fixture("exact-tiny.json"))
        .assert()
        .success();
}

/// Runs `peff merge FILES… --out <temp>` expecting a one-line error with every phrase.
fn merge_fails(files: &[&str], phrases: &[&str]) {
    let tmp = TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peff"))
        .arg("merge")
        .args(files.iter().map(|f| fixture(f)))
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "merged {files:?}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for phrase in phrases {
        assert!(stderr.contains(phrase), "{files:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `peff merge` reads each file's format tag and says, in one line, what a file of the wrong
/// kind is: a result file, another experiment's shard, a file that is not JSON.
#[test]
fn merge_says_what_a_file_of_the_wrong_kind_is() {
    merge_fails(
        &["exact-tiny.json"],
        &["exact-tiny.json' is a result file of `peff exact`, not a shard file"],
    );
    // A shard beside the merged result of its run: the result is skipped with a note (so that
    // `peff merge shards/*.json` can run twice), and the missing shard is named.
    let tmp = TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peff"))
        .arg("merge")
        .arg(fixture("exact-tiny.shard-0-of-2.json"))
        .arg(fixture("exact-tiny.json"))
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("it is the merged result of these shards, not a shard file"),
        "{stderr}"
    );
    assert!(stderr.contains("missing shards: 1/2"), "{stderr}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    merge_fails(
        &[
            "memorize-tiny.shard-0-of-2.json",
            "noise-corr-tiny.shard-1-of-2.json",
        ],
        &[
            "noise-corr-tiny.shard-1-of-2.json' is a peff noise-corr shard file",
            "is a peff memorize shard file",
        ],
    );
    merge_fails(
        &[
            "memorize-tiny.shard-0-of-2.json",
            "exact-tiny.shard-1-of-2.json",
        ],
        &["exact-tiny.shard-1-of-2.json' is a peff partial-result file (shard or checkpoint) of `peff exact`"],
    );
    merge_fails(&["exact-tiny.csv"], &["is not a peff JSON file"]);
}

/// A merged result records no thread count (the shards' are unknown) and how many shard files
/// it was merged from; a result computed in one run records its threads.
#[test]
fn merged_results_record_their_shards_not_threads() {
    let tmp = TempDir::new().unwrap();
    Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(["merge", "--name", "merged", "--out"])
        .arg(tmp.path())
        .arg(fixture("memorize-tiny.shard-0-of-2.json"))
        .arg(fixture("memorize-tiny.shard-1-of-2.json"))
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("merged.json"))).unwrap();
    assert!(json["threads"].is_null(), "{json}");
    assert_eq!(json["merged_from_shards"], 2);
    Command::new(env!("CARGO_BIN_EXE_peff"))
        .args([
            "noise-corr",
            "--seeds",
            "2",
            "--d",
            "3",
            "--teacher-hidden",
            "4",
        ])
        .args([
            "--student-hidden",
            "8,8",
            "--n",
            "20",
            "--mc",
            "50",
            "--prunes",
            "2",
        ])
        .args([
            "--epochs-per-level",
            "5",
            "--threads",
            "1",
            "--name",
            "whole",
            "--out",
        ])
        .arg(tmp.path())
        .assert()
        .success();
    let whole: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("whole.json"))).unwrap();
    assert_eq!(whole["threads"], 1);
    assert!(whole.get("merged_from_shards").is_none());
    // The merged noise-corr table equals the one computed whole.
    Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(["merge", "--name", "merged-nc", "--out"])
        .arg(tmp.path())
        .arg(fixture("noise-corr-tiny.shard-0-of-2.json"))
        .arg(fixture("noise-corr-tiny.shard-1-of-2.json"))
        .assert()
        .success();
    // The merged noise-corr table equals the one computed whole but for `train_loss_mean`: the
    // old shards recorded the loss before each epoch's steps, the current version the loss of
    // the network `corr` describes (after the epoch).
    let without_loss = |text: String| -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let loss = header.iter().position(|c| *c == "train_loss_mean").unwrap();
        lines
            .iter()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(loss);
                cells.join(",")
            })
            .collect()
    };
    assert_eq!(
        without_loss(read(&tmp.path().join("merged-nc.csv"))),
        without_loss(read(&tmp.path().join("whole.csv")))
    );
}
