//! Helpers shared by the integration tests: stopping a run with SIGINT once it has saved
//! progress; breaking its checkpoint's directory while it runs; setting the wall time a
//! checkpoint records. Not every test file uses every helper.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `peff args`, waits until `file` exists (at most two minutes), then sends SIGINT.
/// `None` when the run had already ended by then (the caller retries with more work); else the
/// interrupted run's output.
pub fn interrupt_once_written(args: &[&str], file: &Path) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peff starts");
    let started = Instant::now();
    while !file.exists() && child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    (!output.status.success()).then_some(output)
}

/// Runs `peff args`, waits until its checkpoint `file` exists (at most two minutes), then
/// replaces the checkpoint's directory by a regular file, so that every later save fails (as
/// on a full disk) while the run goes on. `None` when the run had already ended by then (the
/// caller retries with more work); else the run's output.
pub fn break_checkpoint_dir_once_written(args: &[&str], file: &Path) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peff starts");
    let started = Instant::now();
    while !file.exists() && child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let dir = file.parent().expect("the checkpoint has a directory");
    // Moved away, not removed: the run may be writing its next save into it right now, and
    // a rename does not race with that as `remove_dir_all` would.
    std::fs::rename(dir, dir.with_extension("moved")).unwrap();
    std::fs::write(dir, b"not a directory").unwrap();
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    Some(child.wait_with_output().unwrap())
}

/// Sets the wall time a checkpoint records (`wall_seconds`) and signs it again, as if its
/// earlier parts had run that long.
pub fn set_checkpoint_wall_seconds(file: &Path, seconds: f64) {
    use sha2::{Digest, Sha256};
    let text = std::fs::read_to_string(file).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = value.as_object_mut().unwrap();
    assert!(
        object.contains_key("wall_seconds"),
        "a checkpoint records its wall time"
    );
    object.insert("wall_seconds".into(), seconds.into());
    object.insert("checksum".into(), "".into());
    let checksum = format!("{:x}", Sha256::digest(value.to_string().as_bytes()));
    value["checksum"] = checksum.into();
    std::fs::write(file, value.to_string()).unwrap();
}

/// The `wall_seconds` of a JSON result.
pub fn result_wall_seconds(json: &Path) -> f64 {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    value["wall_seconds"].as_f64().unwrap()
}

/// Runs `peff args` under `ulimit -v kib` (an address-space limit, as a cluster's memory limit
/// may be) with the environment `env` added, through `sh -c 'ulimit -v …; exec peff …'`, and
/// checks that it failed the way issue 28 asks: exit status 1 (no abort, 134; no signal) and
/// a one-line error as the last line of stderr (notes may come before it). Returns that line.
pub fn one_line_error_under_ulimit_v(kib: u64, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{:?}: {stderr}",
        output.status
    );
    assert!(!stderr.contains("memory allocation of"), "{stderr}");
    let errors = stderr.lines().filter(|l| l.contains("Error")).count();
    assert_eq!(errors, 1, "one error line: {stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("Error: "), "{stderr}");
    last.to_string()
}
