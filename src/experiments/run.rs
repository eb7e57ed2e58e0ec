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

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};

use crate::experiments::toy::partial::Partial;
use crate::experiments::toy::{
    enumerate_range, sample_datasets, Dataset, ToyExperiment, ToyRecord,
};
use crate::export::write_atomic;
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

/// Checkpointing of one run: where, and how often.
#[derive(Debug)]
pub struct Checkpoint {
    /// The checkpoint file (a partial-result file).
    pub path: PathBuf,
    /// Seconds between saves.
    pub interval_secs: f64,
    /// Wall seconds of the earlier parts of the run, set by [`compute`] from the checkpoint
    /// it resumes (0 for a fresh run): a resumed run's `wall_seconds` adds them.
    pub earlier_secs: std::sync::Mutex<f64>,
}

impl Checkpoint {
    /// A checkpoint at `path` saved every `interval_secs` seconds.
    pub fn new(path: PathBuf, interval_secs: f64) -> Self {
        Checkpoint {
            path,
            interval_secs,
            earlier_secs: std::sync::Mutex::new(0.0),
        }
    }

    /// [`Checkpoint::earlier_secs`].
    pub fn earlier_secs(&self) -> f64 {
        *self.earlier_secs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Tallies the datasets `range` of a run (one init; its shard's range), resuming from and saving to `checkpoint`; `progress`
/// gets the number of datasets each finished batch adds. Returns `None` when `stop` was set
/// (checked between windows; the checkpoint, if any, is saved).
pub fn compute(
    run: &ToyRecord,
    range: std::ops::Range<u64>,
    checkpoint: Option<&Checkpoint>,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<Vec<MaskTally>>> {
    let started = Instant::now();
    let mut resumed = None;
    if let Some(cp) = checkpoint.filter(|cp| cp.path.exists()) {
        let saved = Partial::read(&cp.path).context("`--checkpoint`")?;
        if saved.run != *run || saved.payload.start != range.start || saved.payload.end != range.end
        {
            bail!(
                "`--checkpoint` '{}' belongs to a different configuration; delete it or choose another file",
                cp.path.display()
            );
        }
        let earlier = saved
            .wall_seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0);
        *cp.earlier_secs.lock().unwrap_or_else(|e| e.into_inner()) = earlier;
        eprintln!(
            "resuming from checkpoint '{}': {} of {} datasets finished",
            cp.path.display(),
            saved.payload.done,
            range.end - range.start
        );
        resumed = Some((saved.payload.done, saved.tallies()?));
    }
    let mut save = |done: u64, totals: &[MaskTally]| -> anyhow::Result<()> {
        if let Some(cp) = checkpoint {
            let partial = Partial::from_tallies(run.clone(), range.clone(), done, totals)
                .with_wall_seconds(cp.earlier_secs() + started.elapsed().as_secs_f64());
            write_atomic(&cp.path, serde_json::to_string(&partial)?.as_bytes())
                .context("saving the checkpoint")?;
        }
        Ok(())
    };
    let last_save = std::cell::Cell::new(Instant::now());
    let due = || {
        let due = checkpoint
            .is_some_and(|cp| last_save.get().elapsed().as_secs_f64() >= cp.interval_secs);
        if due {
            last_save.set(Instant::now());
        }
        due
    };
    compute_with(run, range.clone(), resumed, &mut save, &due, stop, progress)
}

/// [`compute`] with the checkpoint kept by the caller: `resumed` is the progress to start
/// from (datasets done, tallies), `save(done, tallies)` is called when `due()` says so, when
/// `stop` ends the run and once at the end. A save that fails when `stop` ends the run is the
/// error returned; one that fails while the run goes on or at its end is reported by
/// [`crate::experiments::checkpoint::warn_unsaved`], and the tallies are still returned.
pub fn compute_with(
    run: &ToyRecord,
    range: std::ops::Range<u64>,
    resumed: Option<(u64, Vec<MaskTally>)>,
    save: &mut dyn FnMut(u64, &[MaskTally]) -> anyhow::Result<()>,
    due: &dyn Fn() -> bool,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<Vec<MaskTally>>> {
    let exp = &run.config.experiment;
    let (done, totals) =
        resumed.unwrap_or_else(|| (0, vec![MaskTally::default(); exp.rows().len()]));
    progress(done);
    let mut save_error = None;
    let (totals, finished) = exp.tally_from(
        datasets(run, range.start + done..range.end),
        run.config.samples.is_some(),
        totals,
        progress,
        &mut |consumed, totals| {
            let stopping = stop.load(Ordering::SeqCst);
            if stopping || due() {
                match save(done + consumed, totals) {
                    Err(e) if stopping => {
                        save_error = Some(e);
                        return false;
                    }
                    Err(e) => crate::experiments::checkpoint::warn_unsaved(&e),
                    Ok(()) => {}
                }
            }
            !stopping
        },
    );
    if let Some(e) = save_error {
        return Err(e.context("interrupted, and the progress could not be kept"));
    }
    if !finished {
        return Ok(None);
    }
    if let Err(e) = save(range.end - range.start, &totals) {
        crate::experiments::checkpoint::warn_unsaved(&e);
    }
    Ok(Some(totals))
}
