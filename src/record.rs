//! What a run is, recorded once: the subcommand, its full configuration (seeds included) and the
//! slice of it that was computed. Result JSONs, shard files and checkpoints all carry this one
//! record, so "do these files belong to the same run?" has one answer everywhere.
//!
//! ```text
//! result JSON  = { peff_version, git_commit, run, threads, wall_seconds, pmf_sha256?, summary?, rows }
//! partial file = { format, peff_version, run (shard set for --shard runs), start, end, done, rows, checksum }
//! same run     ⇔ run.command and run.config are equal (shards differ only in run.shard)
//! shard i of N covers items [⌊i·M/N⌋, ⌊(i+1)·M/N⌋) of M (datasets, or seeds)
//! ```

use serde::{Deserialize, Serialize};

/// Largest shard count accepted.
pub const MAX_SHARDS: u64 = 1_000_000;

/// Which slice of a run's items (datasets, seeds) a process computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index `i`.
    pub index: u64,
    /// Number of shards `N`.
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/N` with `0 ≤ i < N ≤ MAX_SHARDS`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let bad = || {
            anyhow::anyhow!("`--shard` must look like i/N with 0 ≤ i < N ≤ {MAX_SHARDS} (e.g. 0/7), got '{text}'")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        let shard = Shard { index, count };
        shard.is_valid().then_some(shard).ok_or_else(bad)
    }

    /// The file a shard of the result `<stem>` is written to: `<stem>.shard-<i>-of-<N>.json`.
    pub fn file_name(self, stem: &str) -> String {
        format!("{stem}.shard-{}-of-{}.json", self.index, self.count)
    }

    /// Whether `0 ≤ index < count ≤ MAX_SHARDS`.
    pub fn is_valid(self) -> bool {
        self.count > 0 && self.index < self.count && self.count <= MAX_SHARDS
    }

    /// The item indices of this shard out of `total`.
    pub fn range(self, total: u64) -> std::ops::Range<u64> {
        let at = |i: u64| (i as u128 * total as u128 / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// What was run: everything that must agree for two files to belong to one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord<C> {
    /// The subcommand (`exact`, `sample`, `converge`, …).
    pub command: String,
    /// The full configuration, seeds included: rerunning it reproduces the run.
    pub config: C,
    /// The slice computed (`--shard i/N`); `None` for a whole run.
    pub shard: Option<Shard>,
}

impl<C: PartialEq> RunRecord<C> {
    /// Whether `other` records the same run (possibly another shard of it).
    pub fn same_run(&self, other: &RunRecord<C>) -> bool {
        self.command == other.command && self.config == other.config
    }
}

/// Puts the shard files of one run in shard order: every file must record the same run (command
/// and configuration) with the same shard count, each shard exactly once and none missing (a
/// file without a shard is the run's only shard). Returns the files in shard order and the
/// record of the whole run. One rule for every command's `peff merge`.
pub fn order_shards<T, C: PartialEq + Clone>(
    parts: &[T],
    record: impl Fn(&T) -> &RunRecord<C>,
) -> anyhow::Result<(Vec<&T>, RunRecord<C>)> {
    use anyhow::{bail, Context};
    let first = parts.first().context("no shard files given")?;
    let shard_of = |part: &T| record(part).shard.unwrap_or(Shard::WHOLE);
    let count = shard_of(first).count;
    let mut slots: Vec<Option<&T>> = vec![None; count as usize];
    for part in parts {
        let s = shard_of(part);
        if !record(part).same_run(record(first)) {
            bail!(
                "shard {}/{} belongs to a different configuration than shard {}/{count}",
                s.index,
                s.count,
                shard_of(first).index
            );
        }
        if s.count != count {
            bail!("shard counts differ: {} and {count}", s.count);
        }
        if slots[s.index as usize].replace(part).is_some() {
            bail!("shard {}/{count} is given twice", s.index);
        }
    }
    let missing: Vec<u64> = (0..count)
        .filter(|&i| slots[i as usize].is_none())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(10)
            .map(|i| format!("{i}/{count}"))
            .collect();
        let more = if missing.len() > 10 {
            format!(", … ({} in all)", missing.len())
        } else {
            String::new()
        };
        bail!("missing shards: {}{more}", shown.join(", "));
    }
    let whole = RunRecord {
        shard: None,
        ..record(first).clone()
    };
    Ok((slots.into_iter().flatten().collect(), whole))
}

/// A JSON result file: the run record, how it ran, and the rows of its table.
#[derive(Serialize)]
pub struct ResultFile<'a, C: Serialize, R: Serialize> {
    /// peff's version.
    pub peff_version: &'static str,
    /// Git commit of the build, if known.
    pub git_commit: Option<&'static str>,
    /// What was run.
    pub run: &'a RunRecord<C>,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time of the computation, seconds.
    pub wall_seconds: f64,
    /// SHA-256 of the mask pmf (hex), independent of thread count and sharding (toy runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmf_sha256: Option<String>,
    /// A command's summary of its rows (e.g. `converge`'s interval coverage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
    /// The result rows.
    pub rows: &'a [R],
}

impl<'a, C: Serialize, R: Serialize> ResultFile<'a, C, R> {
    /// A result file for `run` stamped with this build's version and commit.
    pub fn new(run: &'a RunRecord<C>, threads: usize, wall_seconds: f64, rows: &'a [R]) -> Self {
        ResultFile {
            peff_version: env!("CARGO_PKG_VERSION"),
            git_commit: git_commit(),
            run,
            threads,
            wall_seconds,
            pmf_sha256: None,
            summary: None,
            rows,
        }
    }
}

/// The git commit peff was built from, when known at build time.
pub fn git_commit() -> Option<&'static str> {
    option_env!("PEFF_GIT_COMMIT").filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_partition_the_items() {
        for total in [0u64, 1, 7, 54_264, 1_000_003] {
            for count in [1u64, 2, 7, 13] {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard { index, count }.range(total);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
        assert!(Shard::parse("7/7").is_err());
        assert!(Shard::parse("a/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert_eq!(Shard::parse("2/7").unwrap(), Shard { index: 2, count: 7 });
    }

    #[test]
    fn shards_of_one_run_are_the_same_run() {
        let a = RunRecord {
            command: "exact".to_string(),
            config: 3u32,
            shard: Some(Shard { index: 0, count: 2 }),
        };
        let b = RunRecord {
            shard: Some(Shard { index: 1, count: 2 }),
            ..a.clone()
        };
        assert!(a.same_run(&b));
        assert!(!a.same_run(&RunRecord {
            config: 4,
            ..b.clone()
        }));
        assert!(!a.same_run(&RunRecord {
            command: "sample".to_string(),
            ..b
        }));
    }
}
