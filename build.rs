//! Records the git commit peff is built from (`git describe --always --dirty`), when built from a
//! checkout, so that every JSON result can name it.
//!
//! The script must not make the next `cargo` command rebuild: `git describe --dirty` refreshes
//! `.git/index` (a write), so watching the index made `cargo run` rebuild peff right after
//! `cargo build`. It now runs git with `GIT_OPTIONAL_LOCKS=0` (no index refresh is written) and
//! reruns only when the commit changes (`HEAD`, the branch it points to, packed refs) or a
//! source file does (`src/`, `Cargo.toml`, `build.rs`: what `--dirty` reports for a build).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
}

fn main() {
    for path in ["src", "Cargo.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    // The files that name the commit (worktree-aware: `--git-path` resolves them).
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    let described = git(&["describe", "--always", "--dirty", "--abbrev=12"]).unwrap_or_default();
    println!("cargo:rustc-env=PEFF_GIT_COMMIT={described}");
}
