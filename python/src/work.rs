//! How the bindings run peff's work: a panic becomes a `RuntimeError` ([`guard`]), and every
//! computation that can take more than a moment runs without the GIL on a worker thread while
//! the calling thread polls for Ctrl-C ([`interruptible`]), for `peff` and `peff.toy` alike.
//!
//! ```text
//! caller (GIL released)                      worker
//!   every 50 ms: py.check_signals()            work(&stop): checks `stop` between units
//!   on KeyboardInterrupt: stop = true  ──►     returns early (None)
//!   waits for the worker, raises the exception
//! ```

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often the calling thread checks for a signal.
const POLL: Duration = Duration::from_millis(50);

/// A panic's payload as a `RuntimeError`.
pub fn internal(payload: Box<dyn Any + Send>) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    PyRuntimeError::new_err(format!(
        "internal error in peff (a bug, please report it): {message}"
    ))
}

/// Runs `f`, turning a panic into a `RuntimeError`.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(internal(payload)))
}

/// Runs `work` without the GIL on another thread, checking for Ctrl-C (and any other signal
/// whose Python handler raises) every 50 ms: on one, sets the stop flag `work` receives, waits
/// for it to return, and raises the handler's exception. A panic becomes a `RuntimeError`.
///
/// Python runs signal handlers on its main thread only, so a call from another thread is not
/// interrupted (as for any Python code).
pub fn interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&AtomicBool) -> PyResult<T> + Send,
) -> PyResult<T> {
    let stop = AtomicBool::new(false);
    py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = channel();
            let stop = &stop;
            scope.spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| work(stop)));
                let _ = tx.send(result);
            });
            loop {
                match rx.recv_timeout(POLL) {
                    Ok(Ok(result)) => return result,
                    Ok(Err(payload)) => return Err(internal(payload)),
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(PyRuntimeError::new_err("peff's worker thread ended early"))
                    }
                }
            }
        })
    })
}

/// The result of work that [`interruptible`] may stop: `None` only when stopped, which
/// `interruptible` reports itself.
pub fn finished<T>(value: Option<T>) -> PyResult<T> {
    value.ok_or_else(|| PyRuntimeError::new_err("the computation stopped before its end"))
}
