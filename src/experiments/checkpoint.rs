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
#[derive(Debug)]
pub struct Checkpointer {
    path: PathBuf,
    interval_secs: f64,
    last_save: Mutex<Instant>,
}

impl Checkpointer {
    /// A checkpointer saving to `path` every `interval_secs` seconds (0: at every unit).
    pub fn new(path: &Path, interval_secs: f64) -> Self {
        Checkpointer {
            path: path.to_path_buf(),
            interval_secs,
            last_save: Mutex::new(Instant::now()),
        }
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved payload of `run`, if the file exists: it must be a checkpoint of the same
    /// command, configuration and shard, else a one-line error names the first field that
    /// differs.
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
        Ok(Some(file.payload))
    }

    /// Whether the interval since the last save has passed.
    pub fn due(&self) -> bool {
        let last = self.last_save.lock().unwrap_or_else(|e| e.into_inner());
        last.elapsed().as_secs_f64() >= self.interval_secs
    }

    /// Saves `payload` as the checkpoint of `run` (atomically) and restarts the interval.
    pub fn save<C, P>(&self, run: &RunRecord<C>, payload: P) -> anyhow::Result<()>
    where
        C: Serialize + DeserializeOwned + Clone,
        P: ShardPayload<C>,
    {
        let file = ShardFile::new(run.clone(), payload);
        crate::export::write_atomic(&self.path, serde_json::to_string(&file)?.as_bytes())
            .context("saving the checkpoint")?;
        *self.last_save.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(())
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
