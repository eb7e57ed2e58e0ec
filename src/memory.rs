//! The memory this process may use, and large buffers allocated fallibly.
//!
//! The limit ([`memory_limit`]) is the smallest of three, each read from `/proc` and `/sys`
//! (Linux; where none can be read, 64 GiB):
//!
//! ```text
//! physical      MemTotal of /proc/meminfo
//! cgroup        memory.max (v2) or memory.limit_in_bytes (v1) of the process's cgroup and of
//!               each ancestor, the paths from /proc/self/cgroup ("max": no limit)
//! address space RLIMIT_AS (`ulimit -v`, "Max address space" of /proc/self/limits), less what
//!               the process maps but does not hold resident (VmSize − VmRSS of
//!               /proc/self/status: code, libraries, reserved regions)
//! ```
//!
//! The environment variable `PEFF_MEMORY_LIMIT` (bytes, or with a suffix `K`, `M`, `G`, `T`
//! of powers of 1024) replaces the three, for a cluster that enforces a limit peff cannot
//! read (a batch system that polls its jobs' memory) and for the tests.
//!
//! Commands compare their estimates (resident bytes, measured: `docs/large-runs.md`, "Memory")
//! with it before any work. A limit the estimate missed still must not abort the process:
//! the largest buffers are allocated with [`try_filled`] / [`try_with_capacity`], which give
//! an [`OutOfMemory`] error, and the `peff` binary installs [`ExitOnOom`] as its global
//! allocator, which turns any other failed allocation into one line on stderr and exit
//! status 1 instead of the default abort (status 134).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where none of the limits can be read.
const FALLBACK_BYTES: u64 = 64 << 30;

/// Which limit bounds the memory this process may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// The machine's physical memory (`MemTotal`).
    Physical,
    /// A memory cgroup's limit, read from this file.
    Cgroup(PathBuf),
    /// `RLIMIT_AS` (`ulimit -v`) of `total` bytes, of which `mapped` were already mapped
    /// without being resident; the limit's `bytes` are the rest.
    AddressSpace {
        /// The limit itself.
        total: u64,
        /// Mapped, not resident, when read.
        mapped: u64,
    },
    /// Given by `PEFF_MEMORY_LIMIT`.
    Assumed,
    /// Nothing could be read: 64 GiB assumed.
    Unknown,
}

/// The memory this process may use, and which limit says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: u64,
    /// Which limit.
    pub kind: LimitKind,
}

/// `bytes` as MiB below 1 GiB, else GiB (`"488 MiB"`, `"1.5 GiB"`).
pub fn human_bytes(bytes: u128) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    if bytes < 1 << 30 {
        format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} GiB", bytes as f64 / GIB)
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = human_bytes(self.bytes.into());
        match &self.kind {
            LimitKind::Physical => write!(f, "this machine's {size} (MemTotal)"),
            LimitKind::Cgroup(file) => {
                write!(f, "the cgroup's limit of {size} ({})", file.display())
            }
            LimitKind::AddressSpace { total, mapped } => write!(
                f,
                "the {size} left of the address-space limit (ulimit -v, RLIMIT_AS) of {} ({} of it mapped by the program)",
                human_bytes((*total).into()),
                human_bytes((*mapped).into())
            ),
            LimitKind::Assumed => write!(f, "the {size} of PEFF_MEMORY_LIMIT"),
            LimitKind::Unknown => write!(f, "the assumed {size} (no limit could be read)"),
        }
    }
}

/// The memory this process may use: the smallest of `MemTotal`, the cgroup limits and what
/// `RLIMIT_AS` leaves, or `PEFF_MEMORY_LIMIT` (module docs).
pub fn memory_limit() -> MemoryLimit {
    if let Some(bytes) = std::env::var("PEFF_MEMORY_LIMIT")
        .ok()
        .and_then(|v| parse_bytes(&v))
    {
        return MemoryLimit {
            bytes,
            kind: LimitKind::Assumed,
        };
    }
    read_limit()
}

/// The smallest of the limits read from the system (`PEFF_MEMORY_LIMIT` aside).
fn read_limit() -> MemoryLimit {
    let mut limits = Vec::new();
    if let Some(bytes) = mem_total() {
        limits.push(MemoryLimit {
            bytes,
            kind: LimitKind::Physical,
        });
    }
    limits.extend(cgroup_limits());
    if let Some((total, mapped)) = address_space() {
        limits.push(MemoryLimit {
            bytes: total.saturating_sub(mapped),
            kind: LimitKind::AddressSpace { total, mapped },
        });
    }
    limits
        .into_iter()
        .min_by_key(|l| l.bytes)
        .unwrap_or(MemoryLimit {
            bytes: FALLBACK_BYTES,
            kind: LimitKind::Unknown,
        })
}

/// `1234`, `512M`, `2G`, … (powers of 1024) as bytes.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 10),
        (i, 'M' | 'm') => (&text[..i], 20),
        (i, 'G' | 'g') => (&text[..i], 30),
        (i, 'T' | 't') => (&text[..i], 40),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total() -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal:")
}

/// The value of the `name` line (`name  1234 kB`) of a `/proc` file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The limit of every memory cgroup this process is in, and of their ancestors (each bounds
/// it): v2 `memory.max`, v1 `memory.limit_in_bytes`.
fn cgroup_limits() -> Vec<MemoryLimit> {
    let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for line in text.lines() {
        // `hierarchy-id:controllers:path`; v2 is `0::path`.
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (root, file) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = PathBuf::from(root);
        files.push(dir.join(file));
        for part in path.split('/').filter(|p| !p.is_empty()) {
            dir.push(part);
            files.push(dir.join(file));
        }
    }
    files
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(&file).ok()?;
            // "max" (v2), or v1's "no limit" of about 2^63.
            let bytes: u64 = text.trim().parse().ok()?;
            (bytes < 1 << 62).then_some(MemoryLimit {
                bytes,
                kind: LimitKind::Cgroup(file),
            })
        })
        .collect()
}

/// `RLIMIT_AS` (the soft limit of "Max address space" in `/proc/self/limits`) and the bytes
/// this process maps without holding them resident (`VmSize − VmRSS`), if there is a limit.
fn address_space() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let total: u64 = line
        .trim_start_matches("Max address space")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mapped = match (kib_field(&status, "VmSize:"), kib_field(&status, "VmRSS:")) {
        (Some(size), Some(rss)) => size.saturating_sub(rss),
        _ => 0,
    };
    Some((total, mapped))
}

/// A buffer that could not be allocated: what it was for, its size and the limit in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("out of memory: {what} needs {} more, beyond {limit}; {lower}", human_bytes(*.bytes))]
pub struct OutOfMemory {
    /// What the buffer holds (`"the training set of a seed"`).
    pub what: String,
    /// Its size in bytes.
    pub bytes: u128,
    /// The limit when it failed, as the system says (`PEFF_MEMORY_LIMIT` aside: the
    /// allocation failed whatever it assumed).
    pub limit: MemoryLimit,
    /// What to lower (`"lower --train-size or --threads"`).
    pub lower: String,
}

impl OutOfMemory {
    fn new(what: &str, bytes: u128, lower: &str) -> Self {
        OutOfMemory {
            what: what.to_string(),
            bytes,
            limit: read_limit(),
            lower: lower.to_string(),
        }
    }
}

thread_local! {
    /// Set while this thread allocates fallibly: [`ExitOnOom`] then returns null as usual.
    static FALLIBLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`ExitOnOom`] handing failed allocations back to the caller (for
/// `try_reserve` and the like) instead of exiting.
fn fallibly<R>(f: impl FnOnce() -> R) -> R {
    let before = FALLIBLE.with(|c| c.replace(true));
    let out = f();
    FALLIBLE.with(|c| c.set(before));
    out
}

/// `len` copies of `value`, or an [`OutOfMemory`] naming `what` and the flags to `lower`.
pub fn try_filled<T: Clone>(
    len: usize,
    value: T,
    what: &str,
    lower: &str,
) -> Result<Vec<T>, OutOfMemory> {
    let mut v = try_with_capacity(len, what, lower)?;
    v.resize(len, value);
    Ok(v)
}

/// An empty vector with room for exactly `capacity` elements, or an [`OutOfMemory`].
pub fn try_with_capacity<T>(
    capacity: usize,
    what: &str,
    lower: &str,
) -> Result<Vec<T>, OutOfMemory> {
    let mut v = Vec::new();
    match fallibly(|| v.try_reserve_exact(capacity)) {
        Ok(()) => Ok(v),
        Err(_) => Err(OutOfMemory::new(
            what,
            capacity as u128 * size_of::<T>().max(1) as u128,
            lower,
        )),
    }
}

/// The system allocator, except that a failed allocation outside [`try_filled`] and
/// [`try_with_capacity`] prints one line on stderr and ends the process with status 1, where
/// Rust's default prints "memory allocation of N bytes failed" and aborts (status 134, and a
/// core dump where enabled). The `peff` binary's global allocator; a library user (the Python
/// module) keeps its own.
pub struct ExitOnOom;

/// Set by the first thread that exits for a failed allocation.
static EXITING: AtomicBool = AtomicBool::new(false);

impl ExitOnOom {
    #[cold]
    fn failed(size: usize) -> ! {
        if EXITING.swap(true, Ordering::SeqCst) {
            // Another thread is printing and exiting.
            loop {
                std::thread::park();
            }
        }
        // No allocation from here: the message is assembled on the stack.
        let mut buf = [0u8; 320];
        let mut len = 0;
        let mut put = |bytes: &[u8]| {
            let n = bytes.len().min(buf.len() - len);
            buf[len..len + n].copy_from_slice(&bytes[..n]);
            len += n;
        };
        put(b"Error: out of memory: allocating ");
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut rest = size;
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        put(&digits[i..]);
        put(b" bytes failed (a memory limit such as `ulimit -v` that the run's estimate did not foresee); lower the run's sizes or `--threads`\n");
        // SAFETY: `write` and `_exit` of the C library std links; `buf[..len]` is initialised.
        unsafe {
            write(2, buf.as_ptr(), len);
            _exit(1)
        }
    }
}

extern "C" {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn _exit(status: i32) -> !;
}

// SAFETY: every call is forwarded to `System`; only a null result is handled differently.
unsafe impl GlobalAlloc for ExitOnOom {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if p.is_null() && !FALLIBLE.with(Cell::get) {
            Self::failed(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if p.is_null() && !FALLIBLE.with(Cell::get) {
            Self::failed(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() && !FALLIBLE.with(Cell::get) {
            Self::failed(new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_mib_or_gib() {
        assert_eq!(human_bytes(500 << 20), "500 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn byte_counts_parse_with_suffixes() {
        assert_eq!(parse_bytes("1234"), Some(1234));
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("99999999999T"), None);
    }

    #[test]
    fn the_limit_is_positive_and_named() {
        let limit = memory_limit();
        assert!(limit.bytes > 0);
        assert!(!limit.to_string().is_empty());
    }

    #[test]
    fn an_impossible_buffer_is_an_error_not_an_abort() {
        let err =
            try_filled(usize::MAX / 16, 0u64, "the test buffer", "lower nothing").unwrap_err();
        let line = err.to_string();
        assert!(
            line.starts_with("out of memory: the test buffer needs "),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
