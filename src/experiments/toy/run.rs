//! One run of the toy experiment as the `exact`, `sample`, `merge` and `verify` commands drive
//! it: the datasets of a shard, resumed from and saved to a checkpoint, tallied in windows that
//! a stop flag (Ctrl-C) can end, and the SHA-256 of the resulting mask pmf.
//!
//! ```text
//! datasets = every multiset of n points (exact), or samples 0..N of the seeded stream (sample)
//! shard i of N covers dataset indices [⌊i·M/N⌋, ⌊(i+1)·M/N⌋)
//! pmf_sha256 = SHA-256 over "method k total diverged\n" and "mask weight\n" lines, rows in order
//! ```
//!
//! Tallies are integer sums, so a run split into shards, interrupted and resumed, or run on any
//! number of threads gives the same tallies and the same hash.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::experiments::pipeline::{Experiment, Session};
use crate::experiments::toy::partial::{Partial, TallySlice};
use crate::experiments::toy::{
    enumerate_range, sample_datasets, Dataset, ToyExperiment, ToyRecord, ToyRun,
};
use crate::info::tally::MaskTally;

/// SHA-256 over every row's mask pmf (rows in order, masks sorted), in hex.
pub fn pmf_sha256(exp: &ToyExperiment, tallies: &[MaskTally]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (key, tally) in exp.rows().iter().zip(tallies) {
        hasher.update(format!(
            "{} {} {} {}\n",
            key.method.name(),
            key.k,
            tally.total_weight,
            tally.diverged_weight
        ));
        for (mask, weight) in tally.sorted() {
            hasher.update(format!("{} {weight}\n", mask.to_bit_string()));
        }
    }
    format!("{:x}", hasher.finalize())
}

/// The datasets of a run with indices in `range`.
pub fn datasets(run: &ToyRecord, range: std::ops::Range<u64>) -> Box<dyn Iterator<Item = Dataset>> {
    let space = run.config.experiment.space;
    match run.config.sample_seed {
        Some(seed) => Box::new(sample_datasets(space, seed, range)),
        None => Box::new(enumerate_range(space, range)),
    }
}

/// Number of datasets of a run (multisets, or samples); `None` beyond `u128`.
pub fn dataset_count(run: &ToyRecord) -> Option<u128> {
    match run.config.samples {
        Some(n) => Some(n as u128),
        None => run.config.experiment.space.num_multisets(),
    }
}

/// One init's run of the toy experiment as the
/// [`Executor`](crate::experiments::pipeline::Executor) drives it: the datasets `range` (its
/// shard's) tallied in windows on the current pool ([`compute_with`]), the tallies so far
/// reported as progress when a checkpoint save is due.
pub struct ToyPass<'a> {
    /// The run of one init (its `config.init_seed` set where the run has several).
    pub record: &'a ToyRecord,
    /// Its datasets' indices (the shard's).
    pub range: std::ops::Range<u64>,
}

impl ToyPass<'_> {
    /// The slice's payload after `done` datasets with `tallies`.
    fn slice(&self, done: u64, tallies: &[MaskTally]) -> TallySlice {
        Partial::from_tallies(self.record.clone(), self.range.clone(), done, tallies).payload
    }
}

impl Experiment for ToyPass<'_> {
    type Config = ToyRun;
    type Progress = TallySlice;
    type Output = Vec<MaskTally>;

    fn record(&self) -> &ToyRecord {
        self.record
    }

    fn work(&self) -> (u64, &'static str) {
        (self.range.end - self.range.start, "datasets")
    }

    fn start(&self) -> TallySlice {
        let rows = self.record.config.experiment.rows().len();
        self.slice(0, &vec![MaskTally::default(); rows])
    }

    fn describe(&self, progress: &TallySlice) -> String {
        format!(
            "{} of {} datasets finished",
            progress.done,
            self.range.end - self.range.start
        )
    }

    fn advance(
        &self,
        from: &TallySlice,
        session: &Session<'_, Self>,
    ) -> anyhow::Result<Option<Vec<MaskTally>>> {
        let resumed = (from.done, from.tallies(&self.record.config.experiment)?);
        let mut record = |done: u64, tallies: &[MaskTally]| {
            let slice = self.slice(done, tallies);
            session.update(|p| *p = slice);
        };
        compute_with(
            self.record,
            self.range.clone(),
            Some(resumed),
            &mut record,
            &|| session.due(),
            session.stop_flag(),
            &|n| session.work_done(n),
        )
    }
}

/// Tallies the datasets `range` of a run (one init; its shard's range) in windows on the
/// current pool: `resumed` is the progress to start from (datasets done, tallies),
/// `record(done, tallies)` gets the progress when `due()` says so, when `stop` ends the run
/// (between windows) and once at the end; `progress` gets the number of datasets each finished
/// batch adds. Returns `None` when `stop` ended the run. Saving the progress is the caller's
/// (the [`Experiment`]s [`ToyPass`] and [`crate::experiments::toy::scaling::ScalingRun`]).
pub fn compute_with(
    run: &ToyRecord,
    range: std::ops::Range<u64>,
    resumed: Option<(u64, Vec<MaskTally>)>,
    record: &mut dyn FnMut(u64, &[MaskTally]),
    due: &dyn Fn() -> bool,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<Vec<MaskTally>>> {
    let exp = &run.config.experiment;
    let (done, totals) =
        resumed.unwrap_or_else(|| (0, vec![MaskTally::default(); exp.rows().len()]));
    progress(done);
    let (totals, finished) = exp.tally_from(
        datasets(run, range.start + done..range.end),
        run.config.samples.is_some(),
        totals,
        progress,
        &mut |consumed, totals| {
            let stopping = stop.load(Ordering::SeqCst);
            if stopping || due() {
                record(done + consumed, totals);
            }
            !stopping
        },
    );
    if !finished {
        return Ok(None);
    }
    record(range.end - range.start, &totals);
    Ok(Some(totals))
}
