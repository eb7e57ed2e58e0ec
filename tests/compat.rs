//! Files written by earlier versions of peff still read: the shard files and the result file in
//! `tests/fixtures/shards-cfb65d4/` were written by the binary of commit `cfb65d4`; `peff merge`
//! must merge each set into the table that binary's merge printed, byte for byte, and `peff
//! verify` must accept its result file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Merges the two shards `<stem>.shard-{0,1}-of-2.json` and compares the table (stdout and the
/// CSV written) with `<stem>.csv`, the table the old binary merged them into.
fn merges_as_before(stem: &str) {
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
    let expected = read(&fixture(&format!("{stem}.csv")));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    assert_eq!(read(&tmp.path().join(format!("{stem}.csv"))), expected);
}

#[test]
fn old_exact_shards_merge_into_the_old_table() {
    merges_as_before("exact-tiny");
}

#[test]
fn old_memorize_shards_merge_into_the_old_table() {
    merges_as_before("memorize-tiny");
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
