//! The toy experiment's shard and checkpoint files: the exact integer mask tallies of a slice
//! of datasets, in the shard-file envelope of [`crate::record::ShardFile`] (format
//! `peff-partial-2`). One format serves shards (`--shard i/N`, merged by `peff merge`) and
//! checkpoints (`--checkpoint FILE`, resumed by rerunning the command).
//!
//! ```text
//! shard i of N covers dataset indices [⌊i·M/N⌋, ⌊(i+1)·M/N⌋),  M = number of datasets
//! payload = { start, end, done, rows }   (rows: one tally per (method, k), in table order)
//! ```
//!
//! Weights are written as decimal strings: they are `u128` and must survive any JSON reader.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::{ToyRecord, ToyRun};
use crate::info::tally::MaskTally;
use crate::mask::Mask;
use crate::record::{Shard, ShardFile, ShardPayload};

/// Format tag of the toy experiment's shard and checkpoint files.
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

/// What a toy shard or checkpoint holds beside the envelope: the slice of datasets and its
/// tallies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TallySlice {
    /// Dataset indices of the shard.
    pub start: u64,
    /// End (exclusive) of the shard's indices.
    pub end: u64,
    /// Datasets of the shard already tallied (`start + done == end` when complete).
    pub done: u64,
    /// Tallies, one per row of the experiment.
    pub rows: Vec<PartialRow>,
}

/// A toy shard or checkpoint file.
pub type Partial = ShardFile<ToyRun, TallySlice>;

fn parse_weight(what: &str, text: &str) -> anyhow::Result<u128> {
    text.parse()
        .with_context(|| format!("{what}: not a non-negative integer weight: '{text}'"))
}

impl ShardPayload<ToyRun> for TallySlice {
    const FORMAT: &'static str = FORMAT;
    const WHAT: &'static str = "a peff partial-result file";

    /// The recorded configuration is valid, the range is exactly the shard's slice of the
    /// run's datasets, the rows are the configuration's, and the weights add up.
    fn check(&self, run: &ToyRecord) -> anyhow::Result<()> {
        run.config.validate().context("recorded configuration")?;
        if self.start > self.end || self.done > self.end - self.start {
            bail!("invalid dataset range");
        }
        // The range must be exactly the shard's slice of the run's datasets.
        let config = &run.config;
        let datasets = match config.samples {
            Some(n) => Some(n as u128),
            None => config.experiment.space.num_multisets(),
        }
        .filter(|&m| m <= u64::MAX as u128)
        .context("recorded configuration has more datasets than a u64 counts")?
            as u64;
        let expected = run.shard.unwrap_or(Shard::WHOLE).range(datasets);
        if (self.start, self.end) != (expected.start, expected.end) {
            bail!(
                "dataset range [{}, {}) is not the shard's slice [{}, {}) of the run's {datasets} datasets",
                self.start,
                self.end,
                expected.start,
                expected.end
            );
        }
        let keys = config.experiment.rows();
        if keys.len() != self.rows.len()
            || keys
                .iter()
                .zip(&self.rows)
                .any(|(k, r)| k.method.name() != r.method || k.k != r.k)
        {
            bail!("rows do not match the recorded configuration");
        }
        let tallies = self.tallies(&config.experiment)?;
        self.check_totals(run, &tallies)
    }
}

impl Partial {
    /// A partial result from tallies.
    pub fn from_tallies(
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
        let slice = TallySlice {
            start: range.start,
            end: range.end,
            done,
            rows,
        };
        ShardFile::new(run, slice)
    }

    /// Whether every dataset of the shard was tallied.
    pub fn is_complete(&self) -> bool {
        self.payload.start + self.payload.done == self.payload.end
    }

    /// The tallies, one per row.
    pub fn tallies(&self) -> anyhow::Result<Vec<MaskTally>> {
        self.payload.tallies(&self.run.config.experiment)
    }
}

impl TallySlice {
    /// Checks the tallies against the datasets done: every tallied row saw every dataset (one
    /// total weight for all of them, at least 1 and, for samples, exactly 1 per dataset), rows
    /// that are not tallied (random pruning when enumerating) are empty, and no row counts more
    /// diverged datasets than were done.
    fn check_totals(&self, run: &ToyRecord, tallies: &[MaskTally]) -> anyhow::Result<()> {
        let exp = &run.config.experiment;
        let sampled = run.config.samples.is_some();
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

    /// The tallies, one per row, checked against `exp` (masks of length `p` keeping `k`,
    /// weights adding up to each row's total).
    pub fn tallies(&self, exp: &super::ToyExperiment) -> anyhow::Result<Vec<MaskTally>> {
        let p = exp.num_params();
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
    let mut totals = vec![MaskTally::default(); ordered[0].payload.rows.len()];
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
