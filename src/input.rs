//! Reading input files with a size cap: every file peff reads (counts, inits, results, shard
//! files, checkpoints, data) goes through [`read_capped`] with one of the `MAX_*_BYTES` caps,
//! so that an oversized file, `/dev/zero` or gigabytes on stdin end in a one-line error, refused
//! by its size before any of it is read where the size is known.

use std::path::Path;

use anyhow::Context;

/// Largest counts file `peff entropy` reads (256 MiB: about 10^8 counts).
pub const MAX_COUNTS_BYTES: u64 = 256 << 20;
/// Largest init file `--init` reads (1 MiB; an init has at most 64 numbers).
pub const MAX_INIT_BYTES: u64 = 1 << 20;
/// Largest result file (JSON or CSV) `peff verify` and `peff plot` read (64 MiB).
pub const MAX_RESULT_BYTES: u64 = 64 << 20;
/// Largest shard file or checkpoint read (4 GiB), by every experiment's reader.
pub const MAX_SHARD_BYTES: u64 = 4 << 30;

/// Reads at most `max` bytes of `path` (`-`: stdin) and fails with one line naming `flag` when
/// the input is longer, so that `/dev/zero`, a named pipe or gigabytes on stdin end in a clear
/// error instead of unbounded memory. Every input file of every subcommand is read through
/// this function with one of the `MAX_*_BYTES` caps above.
pub fn read_capped(path: &Path, max: u64, flag: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "stdin".to_string()
    } else {
        format!("'{}'", path.display())
    };
    let mut buf = Vec::new();
    let read = if stdin {
        std::io::stdin().lock().take(max + 1).read_to_end(&mut buf)
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("{flag}: cannot read {name}"))?;
        let metadata = file.metadata().ok();
        if metadata.as_ref().is_some_and(|m| m.is_dir()) {
            anyhow::bail!("{flag}: {name} is a directory");
        }
        // A regular file is refused by its size before any of it is read (a 100 GB file
        // must not be read up to the limit first).
        if let Some(len) = metadata.filter(|m| m.is_file()).map(|m| m.len()) {
            if len > max {
                anyhow::bail!(
                    "{flag}: {name} is {len} bytes, larger than peff's limit of {} for this input",
                    human_bytes(max)
                );
            }
        }
        file.take(max + 1).read_to_end(&mut buf)
    };
    read.with_context(|| format!("{flag}: cannot read {name}"))?;
    if buf.len() as u64 > max {
        anyhow::bail!(
            "{flag}: {name} is larger than peff's limit of {} for this input",
            human_bytes(max)
        );
    }
    Ok(buf)
}

/// `read_capped` as UTF-8 text.
pub fn read_capped_text(path: &Path, max: u64, flag: &str) -> anyhow::Result<String> {
    let bytes = read_capped(path, max, flag)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{flag}: '{}' is not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}
