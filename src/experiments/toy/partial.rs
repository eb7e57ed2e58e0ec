//! Partial results: the exact integer mask tallies of a slice of datasets, with the run's
//! [`crate::record::RunRecord`] and a checksum. One format serves shards (`--shard i/N`, merged by
//! `peff merge`) and checkpoints (`--checkpoint FILE`, resumed by rerunning the command).
//!
//! ```text
//! shard i of N covers dataset indices [⌊i·M/N⌋, ⌊(i+1)·M/N⌋),  M = number of datasets
//! checksum = SHA-256 of the file's JSON with an empty checksum field
//! ```
//!
//! Weights are written as decimal strings: they are `u128` and must survive any JSON reader.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::ToyRecord;
use crate::info::tally::MaskTally;
use crate::mask::Mask;
use crate::record::Shard;

/// Format tag of partial-result files.
pub const FORMAT: &str = "peff-partial-2";

/// One row's tally, serialised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialRow {
    /// Method name.
    pub method: String,
    /// Kept parameters.
    pub k: usize,
    /// Weight of every dataset seen.
    pub total_weight: String,
    /// Datasets whose training diverged.
    pub diverged_datasets: u64,
    /// Their weight.
    pub diverged_weight: String,
    /// Weight of datasets whose cut fell inside a tie.
    pub tie_weight: String,
    /// `(mask as 0/1 string, weight)`, ascending by mask.
    pub masks: Vec<(String, String)>,
}

/// A partial-result file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// Always [`FORMAT`].
    pub format: String,
    /// peff version that wrote it.
    pub peff_version: String,
    /// The run it belongs to; `run.shard` is set for `--shard` runs.
    pub run: ToyRecord,
    /// Dataset indices of the shard.
    pub start: u64,
    /// End (exclusive) of the shard's indices.
    pub end: u64,
    /// Datasets of the shard already tallied (`start + done == end` when complete).
    pub done: u64,
    /// Tallies, one per row of the experiment.
    pub rows: Vec<PartialRow>,
    /// SHA-256 (hex) of this file with `checksum` empty.
    pub checksum: String,
}

fn parse_weight(what: &str, text: &str) -> anyhow::Result<u128> {
    text.parse()
        .with_context(|| format!("{what}: not a non-negative integer weight: '{text}'"))
}

impl Partial {
    /// A partial result from tallies.
    pub fn new(
        run: ToyRecord,
        range: std::ops::Range<u64>,
        done: u64,
        tallies: &[MaskTally],
    ) -> Self {
        let rows = run
            .config
            .experiment
            .rows()
            .iter()
            .zip(tallies)
            .map(|(key, t)| PartialRow {
                method: key.method.name().to_string(),
                k: key.k,
                total_weight: t.total_weight.to_string(),
                diverged_datasets: t.diverged_datasets,
                diverged_weight: t.diverged_weight.to_string(),
                tie_weight: t.tie_weight.to_string(),
                masks: t
                    .sorted()
                    .iter()
                    .map(|(m, w)| (m.to_bit_string(), w.to_string()))
                    .collect(),
            })
            .collect();
        let mut partial = Partial {
            format: FORMAT.to_string(),
            peff_version: env!("CARGO_PKG_VERSION").to_string(),
            run,
            start: range.start,
            end: range.end,
            done,
            rows,
            checksum: String::new(),
        };
        partial.checksum = partial.compute_checksum();
        partial
    }

    fn compute_checksum(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut unsigned = self.clone();
        unsigned.checksum.clear();
        let text = serde_json::to_string(&unsigned).expect("partial results always serialise");
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }

    /// Whether every dataset of the shard was tallied.
    pub fn is_complete(&self) -> bool {
        self.start + self.done == self.end
    }

    /// Parses and checks a partial-result file's text (format, checksum, row layout, weights).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let partial: Partial =
            serde_json::from_str(text).context("not a peff partial-result file")?;
        if partial.format != FORMAT {
            bail!(
                "unsupported partial-result format '{}' (expected {FORMAT})",
                partial.format
            );
        }
        if partial.compute_checksum() != partial.checksum {
            bail!("checksum mismatch: the file was modified or truncated");
        }
        partial
            .run
            .config
            .validate()
            .context("recorded configuration")?;
        if let Some(shard) = partial.run.shard.filter(|s| !s.is_valid()) {
            bail!("invalid shard {}/{}", shard.index, shard.count);
        }
        if partial.start > partial.end || partial.done > partial.end - partial.start {
            bail!("invalid dataset range");
        }
        // The range must be exactly the shard's slice of the run's datasets.
        let config = &partial.run.config;
        let datasets = match config.samples {
            Some(n) => Some(n as u128),
            None => config.experiment.space.num_multisets(),
        }
        .filter(|&m| m <= u64::MAX as u128)
        .context("recorded configuration has more datasets than a u64 counts")?
            as u64;
        let expected = partial.run.shard.unwrap_or(Shard::WHOLE).range(datasets);
        if (partial.start, partial.end) != (expected.start, expected.end) {
            bail!(
                "dataset range [{}, {}) is not the shard's slice [{}, {}) of the run's {datasets} datasets",
                partial.start,
                partial.end,
                expected.start,
                expected.end
            );
        }
        let keys = partial.run.config.experiment.rows();
        if keys.len() != partial.rows.len()
            || keys
                .iter()
                .zip(&partial.rows)
                .any(|(k, r)| k.method.name() != r.method || k.k != r.k)
        {
            bail!("rows do not match the recorded configuration");
        }
        let tallies = partial.tallies()?;
        partial.check_totals(&tallies)?;
        Ok(partial)
    }

    /// Checks the tallies against the datasets done: every tallied row saw every dataset (one
    /// total weight for all of them, at least 1 and, for samples, exactly 1 per dataset), rows
    /// that are not tallied (random pruning when enumerating) are empty, and no row counts more
    /// diverged datasets than were done.
    fn check_totals(&self, tallies: &[MaskTally]) -> anyhow::Result<()> {
        let exp = &self.run.config.experiment;
        let sampled = self.run.config.samples.is_some();
        let mut total = None;
        for (key, (row, tally)) in exp.rows().iter().zip(self.rows.iter().zip(tallies)) {
            let what = format!("row {} k={}", row.method, row.k);
            if row.diverged_datasets > self.done {
                bail!(
                    "{what}: {} diverged datasets of {} done",
                    row.diverged_datasets,
                    self.done
                );
            }
            if !exp.is_tallied(key.method, sampled) {
                if tally.total_weight != 0 || row.diverged_datasets != 0 {
                    bail!("{what}: the method is not tallied, yet the row has weights");
                }
                continue;
            }
            if *total.get_or_insert(tally.total_weight) != tally.total_weight {
                bail!("{what}: total weight differs from the other rows' (every row sees every dataset)");
            }
        }
        if let Some(total) = total {
            let done = self.done as u128;
            let plausible = if sampled {
                total == done
            } else {
                (total == 0) == (done == 0) && total >= done
            };
            if !plausible {
                bail!(
                    "total weight {total} does not fit the {} datasets done",
                    self.done
                );
            }
        }
        Ok(())
    }

    /// Reads and checks a partial-result file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = crate::export::read_capped_text(
            path,
            crate::export::MAX_PARTIAL_BYTES,
            "partial-result file",
        )
        .with_context(|| format!("reading '{}'", path.display()))?;
        Self::parse(&text).with_context(|| format!("'{}'", path.display()))
    }

    /// The tallies, one per row.
    pub fn tallies(&self) -> anyhow::Result<Vec<MaskTally>> {
        let p = self.run.config.experiment.num_params();
        self.rows
            .iter()
            .map(|row| {
                let what = format!("row {} k={}", row.method, row.k);
                let mut tally = MaskTally::default();
                tally.total_weight = parse_weight(&what, &row.total_weight)?;
                tally.diverged_datasets = row.diverged_datasets;
                tally.diverged_weight = parse_weight(&what, &row.diverged_weight)?;
                tally.tie_weight = parse_weight(&what, &row.tie_weight)?;
                let mut sum = tally.diverged_weight;
                for (bits, weight) in &row.masks {
                    let mask = Mask::from_bit_string(bits)
                        .filter(|m| m.len() == p && m.count() == row.k)
                        .with_context(|| format!("{what}: invalid mask '{bits}'"))?;
                    let w = parse_weight(&what, weight)?;
                    sum = sum.checked_add(w).context("weights overflow")?;
                    tally.add_mask_weight(mask, w);
                }
                if sum != tally.total_weight || tally.tie_weight > tally.total_weight {
                    bail!("{what}: weights do not add up to the total");
                }
                Ok(tally)
            })
            .collect()
    }
}

/// Merges complete shards of one run: the same run, the same shard count, each shard exactly
/// once. Returns the whole run's record and tallies.
pub fn merge(parts: &[Partial]) -> anyhow::Result<(ToyRecord, Vec<MaskTally>)> {
    let (ordered, whole) = crate::record::order_shards(parts, |p: &Partial| &p.run)?;
    let mut totals = vec![MaskTally::default(); ordered[0].rows.len()];
    for part in ordered {
        if !part.is_complete() {
            let shard = part.run.shard.unwrap_or(Shard::WHOLE);
            bail!(
                "shard {}/{} is an unfinished checkpoint",
                shard.index,
                shard.count
            );
        }
        for (total, tally) in totals.iter_mut().zip(part.tallies()?) {
            // Every mask weight is at most its row's total, so checking totals rules out overflow.
            total
                .total_weight
                .checked_add(tally.total_weight)
                .context("weights overflow when merging")?;
            total
                .diverged_datasets
                .checked_add(tally.diverged_datasets)
                .context("diverged counts overflow when merging")?;
            total.merge(&tally);
        }
    }
    // The shards together must hold every dataset's weight: V^n for enumeration, N for samples.
    let config = &whole.config;
    let expected = match config.samples {
        Some(n) => Some(n as u128),
        None => config.experiment.space.total_weight(),
    };
    let exp = &config.experiment;
    for (key, tally) in exp.rows().iter().zip(&totals) {
        if exp.is_tallied(key.method, config.samples.is_some())
            && Some(tally.total_weight) != expected
        {
            bail!(
                "the shards' weights add up to {} for {} k={}, not the run's total {}",
                tally.total_weight,
                key.method.name(),
                key.k,
                expected.map_or("(overflow)".to_string(), |e| e.to_string())
            );
        }
    }
    Ok((whole, totals))
}
