//! Stop signals, one mechanism for every long-running subcommand: SIGINT (Ctrl-C), SIGTERM
//! (what `kill`, Slurm and other schedulers send on preemption) and SIGHUP all ask a run to
//! stop at its next window boundary, save its checkpoint and exit with `128 + signal`
//! (130, 143, 129), as shells expect. A second signal exits at once with the same status.
//!
//! Every run adopts it through `cli::drive::execute`, which installs the handler and hands
//! its flag to the [`Executor`](crate::experiments::pipeline::Executor) (`stop_on`); the run
//! returns an error when it stopped, and `main` turns that error's exit status into
//! `128 + signal` through [`exit_status`].
//!
//! The first signal prints the run's stop message at once (`stopping after the current seed
//! run…`; set with [`announce`]), so that a user who presses Ctrl-C knows it was heard.
//!
//! On Unix the handler is installed with the C library's `signal` (BSD semantics: it stays
//! installed, interrupted system calls restart); it only stores the signal number and a flag,
//! which is async-signal-safe. Elsewhere Ctrl-C goes through the `ctrlc` crate.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// Set when a stop signal arrived; runs stop at the next window boundary.
static STOP: AtomicBool = AtomicBool::new(false);
/// The first stop signal's number (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The stop message (a `'static` string: pointer and length), printed by the handler between
/// a newline and [`MESSAGE_END`].
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(DEFAULT_MESSAGE.as_ptr() as *mut u8);
static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(DEFAULT_MESSAGE.len());
const DEFAULT_MESSAGE: &str = "stopping after the current unit of work…";
/// What the handler prints after every stop message.
const MESSAGE_END: &str = " (a second signal exits at once)\n";

/// Sets the line the first stop signal prints on stderr at once, e.g. "stopping after the
/// current seed run…"; the handler adds "(a second signal exits at once)".
pub fn announce(what: &'static str) {
    MESSAGE_LEN.store(0, Ordering::SeqCst);
    MESSAGE.store(what.as_ptr() as *mut u8, Ordering::SeqCst);
    MESSAGE_LEN.store(what.len(), Ordering::SeqCst);
}

/// SIGINT's number (the same on every Unix, and the status Ctrl-C reports elsewhere).
pub const SIGINT: i32 = 2;
/// SIGTERM's number.
pub const SIGTERM: i32 = 15;
/// SIGHUP's number.
pub const SIGHUP: i32 = 1;

/// Installs the stop handler for SIGINT, SIGTERM and SIGHUP (idempotent) and returns the flag
/// that the signals set.
pub fn install() -> &'static AtomicBool {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(platform::install);
    &STOP
}

/// The stop signal received so far, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The exit status a run stopped by a signal reports: `128 + signal` (130 for SIGINT, 143
/// for SIGTERM, 129 for SIGHUP); `None` when no signal arrived.
pub fn exit_status() -> Option<u8> {
    received().map(|sig| (128 + sig).clamp(0, 255) as u8)
}

/// Records `sig` as if it had been delivered (for tests of the exit-status rule).
#[doc(hidden)]
pub fn simulate(sig: i32) {
    on_stop(sig);
}

fn on_stop(sig: i32) {
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

#[cfg(unix)]
mod platform {
    use std::sync::atomic::Ordering;

    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
        fn _exit(status: i32) -> !;
        fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    }

    extern "C" fn handler(sig: i32) {
        if super::STOP.load(Ordering::SeqCst) {
            // A second signal: the user does not want to wait for the window to end.
            // SAFETY: `_exit` is async-signal-safe.
            unsafe { _exit(128 + sig) }
        }
        super::on_stop(sig);
        let len = super::MESSAGE_LEN.load(Ordering::SeqCst);
        let ptr = super::MESSAGE.load(Ordering::SeqCst);
        // SAFETY: `write` is async-signal-safe; `ptr` and `len` describe a `'static` string.
        unsafe {
            write(2, "\n".as_ptr(), 1);
            write(2, ptr, len);
            write(2, super::MESSAGE_END.as_ptr(), super::MESSAGE_END.len());
        }
    }

    pub(super) fn install() {
        for sig in [super::SIGINT, super::SIGTERM, super::SIGHUP] {
            // SAFETY: `handler` only touches atomics (async-signal-safe) or calls `_exit`.
            unsafe {
                signal(sig, handler);
            }
        }
    }
}

#[cfg(not(unix))]
mod platform {
    pub(super) fn install() {
        let _ = ctrlc::set_handler(|| super::on_stop(super::SIGINT));
    }
}
