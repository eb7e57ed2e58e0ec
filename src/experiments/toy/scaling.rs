//! How the information a mask carries grows with the data: the exact toy experiment over a grid
//! of dataset sizes `n` and input dimensions `d`, each point beside the entropy of its data and
//! the ceiling of its masks.
//!
//! ```text
//! for each (d, n) of the grid:  I(m; D | init) = H(m | init)          (exact, by enumeration)
//!                               H(D) = −Σ_M P(M) log2 P(M)            (multisets M, exact)
//!                               I(m; D | init) ≤ min(H(D), log2 C(p, k))
//! ```
//!
//! The grid's points are independent exact runs ([`crate::experiments::toy::run::compute_with`]); this
//! module builds their configurations and the rows of the combined table.
//!
//! **Shards and checkpoints.** Shard `i/N` of a scaling run is shard `i/N` of every grid point
//! (each point's datasets split as `peff exact --shard i/N` splits them), so every shard does
//! about `1/N` of the work. A shard file and a `--checkpoint` hold one toy partial result
//! ([`Partial`]) per point computed so far ([`ScalingSlice`], format `peff-scaling-shard-1`);
//! a merge adds the points' tallies across shards, as `peff merge` does for `peff exact`.

use serde::{Deserialize, Serialize};

use crate::experiments::pipeline::{Experiment, Session};
use crate::experiments::toy::partial::Partial;
use crate::experiments::toy::report::{exact_rows, ExactRow};
use crate::experiments::toy::{ToyExperiment, ToyRecord, ToyRun};
use crate::info::tally::MaskTally;
use crate::record::{RunRecord, Shard, ShardFile, ShardPayload};

/// Largest `n` a scaling grid accepts (the toy pipeline's limit).
pub const MAX_N: usize = 30;

/// One row of the scaling table: a grid point's `(d, n)`, the entropy of its data and one row
/// of its exact table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingRow {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Points per dataset `n`.
    pub n: usize,
    /// The exact row (method, k, entropy, MI, ceiling, …).
    #[serde(flatten)]
    pub row: ExactRow,
    /// `H(D)` in bits: the entropy of the dataset's multiset, an upper bound on `mi_bits`.
    pub data_entropy_bits: f64,
}

/// An inclusive range of integers written `a..b` (or a single value `a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntRange {
    /// First value.
    pub first: usize,
    /// Last value (inclusive).
    pub last: usize,
}

impl IntRange {
    /// Parses `a..b` (inclusive, `a ≤ b`) or `a`, each within `[min, max]`; `flag` names the
    /// option in errors.
    pub fn parse(flag: &str, text: &str, min: usize, max: usize) -> anyhow::Result<IntRange> {
        let bad = || {
            anyhow::anyhow!(
                "`{flag}` must be an integer or an inclusive range a..b with {min} ≤ a ≤ b ≤ {max}, got '{}'",
                text.chars().take(40).collect::<String>()
            )
        };
        let (a, b) = match text.split_once("..") {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (text.trim(), text.trim()),
        };
        let first: usize = a.parse().map_err(|_| bad())?;
        let last: usize = b.parse().map_err(|_| bad())?;
        if first > last || first < min || last > max {
            return Err(bad());
        }
        Ok(IntRange { first, last })
    }

    /// The values, ascending.
    pub fn values(self) -> impl Iterator<Item = usize> {
        self.first..=self.last
    }
}

/// What a scaling run computes (the `config` of its run record): the grid and the run of every
/// point, `d` outer, `n` inner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingConfig {
    /// The dataset sizes `n`.
    pub n: IntRange,
    /// The input dimensions `d`.
    pub input_dim: IntRange,
    /// The exact run of every grid point.
    pub points: Vec<ToyRun>,
}

impl ScalingConfig {
    /// Checks a configuration that did not come from the command line (a result file read
    /// back by `peff verify`): both ranges within the command's limits (`1 ≤ n ≤ MAX_N`,
    /// `1 ≤ d ≤ 16`), one point per `(d, n)` of the grid in grid order (`d` outer), each a valid
    /// exact run ([`ToyRun::validate`]) of one init.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::model::toy::lanes::MAX_INPUT_DIM;
        use anyhow::{ensure, Context};
        for (name, range, max) in [
            ("n", self.n, MAX_N),
            ("input_dim", self.input_dim, MAX_INPUT_DIM),
        ] {
            ensure!(
                1 <= range.first && range.first <= range.last && range.last <= max,
                "{name} must be a range a..b with 1 ≤ a ≤ b ≤ {max}, got {}..{}",
                range.first,
                range.last
            );
        }
        let grid: Vec<(usize, usize)> = self
            .input_dim
            .values()
            .flat_map(|d| self.n.values().map(move |n| (d, n)))
            .collect();
        ensure!(
            self.points.len() == grid.len(),
            "the grid has {} points (d × n), the configuration {}",
            grid.len(),
            self.points.len()
        );
        for (i, (point, &(d, n))) in self.points.iter().zip(&grid).enumerate() {
            point
                .validate()
                .with_context(|| format!("grid point {}", i + 1))?;
            let space = point.experiment.space;
            ensure!(
                (space.input_dim, space.n) == (d, n),
                "grid point {} has d = {}, n = {}; the grid's point is d = {d}, n = {n}",
                i + 1,
                space.input_dim,
                space.n
            );
            ensure!(
                point.samples.is_none() && point.init_seeds.len() == 1,
                "grid point {} is not an exact run of one init seed",
                i + 1
            );
        }
        Ok(())
    }

    /// The table of the whole grid from every point's finished tallies (in grid order): each
    /// point's [`scaling_rows`], one after the other.
    pub fn rows(&self, tallies: &[Vec<MaskTally>]) -> Vec<ScalingRow> {
        self.points
            .iter()
            .zip(tallies)
            .flat_map(|(point, t)| scaling_rows(&point.experiment, t))
            .collect()
    }

    /// The identity of point `i`'s exact run within the shard `shard` of the scaling run.
    pub fn point_record(&self, i: usize, shard: Option<crate::record::Shard>) -> ToyRecord {
        ToyRecord {
            command: "exact".to_string(),
            config: self.points[i].clone(),
            shard,
        }
    }
}

/// Format tag of scaling shard files and checkpoints.
pub const SHARD_FORMAT: &str = "peff-scaling-shard-1";

/// What a scaling shard file or checkpoint holds beside the envelope: one toy partial result
/// per grid point computed so far, in grid order (a checkpoint's last one may be unfinished;
/// a shard file has every point, each complete).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingSlice {
    /// The points' partial results, in grid order.
    pub points: Vec<Partial>,
}

/// A scaling shard file or checkpoint.
pub type ScalingShard = ShardFile<ScalingConfig, ScalingSlice>;

impl ShardPayload<ScalingConfig> for ScalingSlice {
    const FORMAT: &'static str = SHARD_FORMAT;
    const WHAT: &'static str = "a peff scaling shard file";

    /// Each point's partial is the recorded point's run in the recorded shard, intact
    /// (checksum) and consistent (its own check); only the last may be unfinished.
    fn check(&self, run: &RunRecord<ScalingConfig>) -> anyhow::Result<()> {
        use anyhow::bail;
        let config = &run.config;
        if self.points.len() > config.points.len() {
            bail!("it holds more points than the recorded grid");
        }
        for (i, part) in self.points.iter().enumerate() {
            if part.run != config.point_record(i, run.shard) {
                bail!(
                    "point {} is not the recorded grid's point in this shard",
                    i + 1
                );
            }
            if part.compute_checksum() != part.checksum {
                bail!("point {}: checksum mismatch", i + 1);
            }
            part.payload.check(&part.run)?;
            if !part.is_complete() && i + 1 != self.points.len() {
                bail!("point {} is unfinished but later points are present", i + 1);
            }
        }
        Ok(())
    }
}

/// Merges the complete shards of one scaling run: the whole run's record and every point's
/// tallies, each point merged as `peff merge` merges `peff exact` shards.
pub fn merge(
    parts: &[ScalingShard],
) -> anyhow::Result<(RunRecord<ScalingConfig>, Vec<Vec<MaskTally>>)> {
    use anyhow::{bail, Context};
    let (ordered, whole) = crate::record::order_shards(parts, |p: &ScalingShard| &p.run)?;
    let mut tallies = Vec::new();
    for i in 0..whole.config.points.len() {
        let mut point = Vec::new();
        for part in &ordered {
            let shard = part.run.shard.unwrap_or(crate::record::Shard::WHOLE);
            match part.payload.points.get(i) {
                Some(p) if p.is_complete() => point.push(p.clone()),
                _ => bail!(
                    "shard {}/{} is an unfinished checkpoint (point {} of {} not done)",
                    shard.index,
                    shard.count,
                    i + 1,
                    whole.config.points.len()
                ),
            }
        }
        let (_, t) = crate::experiments::toy::partial::merge(&point)
            .with_context(|| format!("grid point {}", i + 1))?;
        tallies.push(t);
    }
    Ok((whole, tallies))
}

/// A scaling run as the [`Executor`](crate::experiments::pipeline::Executor) drives it: the grid
/// points one after another, each point's datasets (its shard's) on the current pool, saved
/// between windows of datasets.
pub struct ScalingRun<'a> {
    /// The run: grid and shard.
    pub record: &'a RunRecord<ScalingConfig>,
}

impl ScalingRun<'_> {
    /// The datasets of grid point `i` (its count; the grid's validation bounds it).
    fn point_count(&self, i: usize) -> anyhow::Result<u64> {
        use anyhow::Context;
        let point = &self.record.config.points[i];
        Ok(point
            .experiment
            .space
            .num_multisets()
            .filter(|&c| c <= u64::MAX as u128)
            .with_context(|| format!("grid point {}: the dataset count overflows", i + 1))?
            as u64)
    }
}

impl Experiment for ScalingRun<'_> {
    type Config = ScalingConfig;
    type Progress = ScalingSlice;
    type Output = Vec<Vec<MaskTally>>;

    fn record(&self) -> &RunRecord<ScalingConfig> {
        self.record
    }

    /// The datasets of every grid point (their shard's).
    fn work(&self) -> (u64, &'static str) {
        let shard = self.record.shard.unwrap_or(Shard::WHOLE);
        let total = self
            .record
            .config
            .points
            .iter()
            .map(|p| {
                shard
                    .range(p.experiment.space.num_multisets().unwrap_or(0) as u64)
                    .count() as u64
            })
            .sum();
        (total, "datasets of the grid")
    }

    fn start(&self) -> ScalingSlice {
        ScalingSlice { points: Vec::new() }
    }

    fn describe(&self, progress: &ScalingSlice) -> String {
        let finished = progress.points.iter().filter(|p| p.is_complete()).count();
        format!(
            "{finished} of {} grid points finished",
            self.record.config.points.len()
        )
    }

    /// Point by point: a point the progress holds complete is read back, an unfinished one
    /// resumes from its tallies.
    fn advance(
        &self,
        from: &ScalingSlice,
        session: &Session<'_, Self>,
    ) -> anyhow::Result<Option<Self::Output>> {
        let shard = self.record.shard;
        let mut tallies: Vec<Vec<MaskTally>> = Vec::new();
        for i in 0..self.record.config.points.len() {
            let count = self.point_count(i)?;
            let identity = self.record.config.point_record(i, shard);
            let range = shard.unwrap_or(Shard::WHOLE).range(count);
            let resumed = match from.points.get(i) {
                Some(p) => Some((p.payload.done, p.tallies()?)),
                None => None,
            };
            let mut record = |done: u64, t: &[MaskTally]| {
                let part = Partial::from_tallies(identity.clone(), range.clone(), done, t);
                session.update(|p| {
                    p.points.truncate(i);
                    p.points.push(part);
                });
            };
            let result = crate::experiments::toy::run::compute_with(
                &identity,
                range.clone(),
                resumed,
                &mut record,
                &|| session.due(),
                session.stop_flag(),
                &|k| session.work_done(k),
            )?;
            let Some(t) = result else {
                return Ok(None);
            };
            tallies.push(t);
        }
        Ok(Some(tallies))
    }
}

/// The rows of one grid point from its finished tallies.
pub fn scaling_rows(exp: &ToyExperiment, tallies: &[MaskTally]) -> Vec<ScalingRow> {
    let data_entropy_bits = exp
        .space
        .multiset_entropy_bits()
        .expect("validated grids have V^n within u128");
    exact_rows(exp, tallies)
        .into_iter()
        .map(|row| ScalingRow {
            input_dim: exp.space.input_dim,
            n: exp.space.n,
            row,
            data_entropy_bits,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_refuse_with_the_flag_named() {
        assert_eq!(
            IntRange::parse("--n", "1..10", 1, 30).unwrap(),
            IntRange { first: 1, last: 10 }
        );
        assert_eq!(
            IntRange::parse("--n", "6", 1, 30)
                .unwrap()
                .values()
                .collect::<Vec<_>>(),
            vec![6]
        );
        for bad in ["10..1", "1..100", "0..3", "a..3", "", "1...3", "-1..2"] {
            let e = IntRange::parse("--n", bad, 1, 30).unwrap_err().to_string();
            assert!(e.starts_with("`--n` must be"), "{bad}: {e}");
        }
    }
}
