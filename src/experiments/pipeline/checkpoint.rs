//! Checkpoints of runs made of independent units of work (seed runs, grid points), one
//! mechanism for every such command (`noise-corr`, `scaling`; `memorize` can adopt it with its
//! own payload). The contract is `peff exact --checkpoint`'s:
//!
//! ```text
//! --checkpoint FILE   the finished units (and, where a unit can stop midway, its progress),
//!                     saved every --checkpoint-interval seconds (default 30), when a stop
//!                     signal ends the run, and once more at the end
//! rerun the command   FILE is read; units it holds are not computed again; the table is
//!                     byte-identical to an uninterrupted run's
//! another run's FILE  refused (command, configuration or shard differ), naming the field
//! ```
//!
//! The file is a [`ShardFile`] (format tag, run record, payload, checksum), written atomically
//! ([`crate::export::write_atomic`]), so a run killed while saving leaves the previous save.
//! An experiment adopts it by giving its payload a [`ShardPayload`] impl with a format tag of
//! its own and calling [`Checkpointer::load`], [`Checkpointer::due`] and
//! [`Checkpointer::save`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::record::{first_difference, RunRecord, ShardFile, ShardPayload};

/// Default seconds between checkpoint saves.
pub const DEFAULT_INTERVAL_SECS: f64 = 30.0;

/// Where a run's checkpoint goes and how often it is saved.
///
/// It also keeps the run's wall time across resumptions: each save records the seconds of the
/// earlier parts (read by [`Checkpointer::load`]) plus those since this part started, and
/// [`Checkpointer::wall_seconds`] gives the whole run's, for its result's `wall_seconds`.
#[derive(Debug)]
pub struct Checkpointer {
    path: PathBuf,
    interval_secs: f64,
    last_save: Mutex<Instant>,
    /// When this part of the run started (the checkpointer was made).
    started: Instant,
    /// Wall seconds of the earlier parts, from the loaded checkpoint (0 for a fresh run).
    earlier_secs: Mutex<f64>,
}

impl Checkpointer {
    /// A checkpointer saving to `path` every `interval_secs` seconds (0: at every unit).
    pub fn new(path: &Path, interval_secs: f64) -> Self {
        Checkpointer {
            path: path.to_path_buf(),
            interval_secs,
            last_save: Mutex::new(Instant::now()),
            started: Instant::now(),
            earlier_secs: Mutex::new(0.0),
        }
    }

    /// Wall seconds of the whole run so far: the earlier parts' (from the loaded checkpoint)
    /// and this part's.
    pub fn wall_seconds(&self) -> f64 {
        *self.earlier_secs.lock().unwrap_or_else(|e| e.into_inner())
            + self.started.elapsed().as_secs_f64()
    }

    /// Wall seconds of the earlier parts of the run, from the loaded checkpoint (0 for a
    /// fresh run).
    pub fn earlier_seconds(&self) -> f64 {
        *self.earlier_secs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `started` (when this part of the run started) moved back by the earlier parts' wall
    /// time, so that `elapsed()` of it is the whole run's wall time (`started` itself where
    /// the clock cannot go back that far).
    pub fn run_started(&self, started: Instant) -> Instant {
        std::time::Duration::try_from_secs_f64(self.earlier_seconds())
            .ok()
            .and_then(|d| started.checked_sub(d))
            .unwrap_or(started)
    }

    /// Says on stderr, in one line, that the run resumes from this checkpoint and how far it
    /// had got (`progress`, e.g. "3 of 10 seeds finished").
    pub fn announce_resume(&self, progress: &str) {
        eprintln!(
            "resuming from checkpoint '{}': {progress}",
            self.path.display()
        );
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved payload of `run`, if the file exists: it must be a checkpoint of the same
    /// command, configuration and shard, else a one-line error names the first field that
    /// differs. The wall time it records counts towards [`Checkpointer::wall_seconds`].
    pub fn load<C, P>(&self, run: &RunRecord<C>) -> anyhow::Result<Option<P>>
    where
        C: Serialize + DeserializeOwned + PartialEq,
        P: ShardPayload<C>,
    {
        if !self.path.exists() {
            return Ok(None);
        }
        let file: ShardFile<C, P> = ShardFile::read(&self.path).context("`--checkpoint`")?;
        if file.run != *run {
            let value = |r: &RunRecord<C>| serde_json::to_value(r).unwrap_or_default();
            let what = first_difference(&value(&file.run), &value(run), "run")
                .map(|(field, saved, now)| {
                    format!(": `{field}` is {saved} there and {now} in this run")
                })
                .unwrap_or_default();
            bail!(
                "`--checkpoint` '{}' belongs to a different configuration{what}; delete it or choose another file",
                self.path.display()
            );
        }
        *self.earlier_secs.lock().unwrap_or_else(|e| e.into_inner()) = file
            .wall_seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0);
        Ok(Some(file.payload))
    }

    /// Whether the interval since the last save has passed.
    pub fn due(&self) -> bool {
        let last = self.last_save.lock().unwrap_or_else(|e| e.into_inner());
        last.elapsed().as_secs_f64() >= self.interval_secs
    }

    /// [`Checkpointer::save`] while the run goes on or once it has finished: a failure is
    /// reported by [`warn_unsaved`], not returned, so that the run still writes its results.
    pub fn save_or_warn<C, P>(&self, run: &RunRecord<C>, payload: P)
    where
        C: Serialize + DeserializeOwned + Clone,
        P: ShardPayload<C>,
    {
        if let Err(e) = self.save(run, payload) {
            warn_unsaved(&e);
        }
    }

    /// Saves `payload` as the checkpoint of `run` (atomically) and restarts the interval.
    pub fn save<C, P>(&self, run: &RunRecord<C>, payload: P) -> anyhow::Result<()>
    where
        C: Serialize + DeserializeOwned + Clone,
        P: ShardPayload<C>,
    {
        let file = ShardFile::new(run.clone(), payload).with_wall_seconds(self.wall_seconds());
        crate::export::write_atomic(&self.path, serde_json::to_string(&file)?.as_bytes())
            .context("saving the checkpoint")?;
        *self.last_save.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(())
    }
}

/// Reports a checkpoint save that failed while the run goes on (a full disk, a removed
/// directory): one warning on stderr, the first time only, since later saves of the same run
/// usually fail alike.
///
/// The contract of every command with `--checkpoint`: a save that fails while the run is
/// working (at an interval) or once it has finished is warned about, and the run goes on and
/// writes its results, so finished work is never thrown away for a checkpoint; a save that
/// fails when a signal stops the run is the run's error (nothing else would keep its work).
pub fn warn_unsaved(err: &anyhow::Error) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "warning: {err:#}; the run goes on and writes its results when it finishes, but until a save succeeds an interruption loses the work since the last one"
        );
    }
}

/// The message of a run stopped by a signal: where its progress is, or that none was kept.
pub fn interrupted(checkpoint: Option<&Checkpointer>) -> anyhow::Error {
    match checkpoint {
        Some(cp) => anyhow::anyhow!(
            "interrupted; progress saved in checkpoint '{}': rerun the same command to resume",
            cp.path().display()
        ),
        None => anyhow::anyhow!(
            "interrupted; no results written (`--checkpoint FILE` keeps finished work)"
        ),
    }
}
