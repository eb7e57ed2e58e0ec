//! Helpers shared by the integration tests: stopping a run with SIGINT once it has saved
//! progress.

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
