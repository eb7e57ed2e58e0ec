//! The run loop of every experiment, once: resume from a checkpoint, run the work left on the
//! current thread pool, save when due, stop on a flag, save once more at the end.
//!
//! An experiment is a [`Experiment`]: its run record (command, configuration, shard), the
//! progress a checkpoint holds, and `advance`, which computes the units of work that progress
//! leaves (seed runs, grid points, settings, windows of datasets) and reports each through the
//! [`Session`] it is given. The [`Executor`] drives it, in the style of argmin's `Executor`: a
//! builder that takes the checkpoint, the stop flag and an observer of finished work, then
//! `run`:
//!
//! ```text
//! progress ← checkpoint's payload if the file exists (same command, configuration and shard)
//!            else Experiment::start
//! output   ← Experiment::advance(progress, session)      session.update: progress ← f(progress),
//!                                                        saved when the interval has passed
//! save progress                                           (a failure: warned, or the error of
//!                                                         a stopped run, whose work it keeps)
//! Finished { output, progress, started }  or  None once the stop flag ended it
//! ```
//!
//! The command line adds what is its own (flags into a configuration, the progress bar, the
//! signal handler, where files go), and so does Python; neither repeats the loop.

pub mod checkpoint;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::record::{RunRecord, ShardPayload};
use checkpoint::{warn_unsaved, Checkpointer};

/// One experiment's run, as the [`Executor`] drives it.
pub trait Experiment: Sync {
    /// Its configuration, as every result, shard and checkpoint records it.
    type Config: Serialize + DeserializeOwned + PartialEq + Clone + Sync;
    /// What a checkpoint holds: the units finished (and, where a unit can stop midway, its
    /// progress).
    type Progress: ShardPayload<Self::Config> + Clone + Send;
    /// What a finished run returns (the rows' inputs).
    type Output: Send;

    /// The run: command, configuration and shard.
    fn record(&self) -> &RunRecord<Self::Config>;

    /// The run's units of work (its shard's), counted as [`Session::work_done`] reports them,
    /// and what one is called ("seeds"): a progress bar's length and unit.
    fn work(&self) -> (u64, &'static str);

    /// The progress of a run that has done nothing yet.
    fn start(&self) -> Self::Progress;

    /// How far `progress` is, in words ("3 of 10 seeds finished"), for the resume message.
    fn describe(&self, progress: &Self::Progress) -> String;

    /// Computes the work `from` leaves, on the current thread pool, reporting progress through
    /// `session`; `None` once [`Session::stopped`] ended it (what finished is in the session).
    fn advance(
        &self,
        from: &Self::Progress,
        session: &Session<'_, Self>,
    ) -> anyhow::Result<Option<Self::Output>>;
}

/// What an experiment sees of its run while it works: the stop flag, the observer of finished
/// work, and the progress it reports.
pub struct Session<'a, E: Experiment + ?Sized> {
    experiment: &'a E,
    progress: Mutex<E::Progress>,
    checkpoint: Option<&'a Checkpointer>,
    stop: &'a AtomicBool,
    observer: &'a (dyn Fn(u64) + Sync),
}

impl<E: Experiment + ?Sized> Session<'_, E> {
    /// The flag that asks the run to stop.
    pub fn stop_flag(&self) -> &AtomicBool {
        self.stop
    }

    /// Whether the run has been asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Reports `units` more units of work finished (to the observer).
    pub fn work_done(&self, units: u64) {
        (self.observer)(units)
    }

    /// Whether a checkpoint save is due (never without a checkpoint): an experiment whose
    /// progress is costly to assemble asks before it calls [`Session::update`].
    pub fn due(&self) -> bool {
        self.checkpoint.is_some_and(Checkpointer::due)
    }

    /// Applies `change` to the progress and saves it when the interval has passed; a failed
    /// save is warned about ([`warn_unsaved`]) and the run goes on.
    pub fn update(&self, change: impl FnOnce(&mut E::Progress)) {
        let mut progress = self.lock();
        change(&mut progress);
        if let Some(cp) = self.checkpoint.filter(|cp| cp.due()) {
            if let Err(e) = cp.save(self.experiment.record(), progress.clone()) {
                warn_unsaved(&e);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, E::Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the progress now (nothing without a checkpoint).
    fn save(&self) -> anyhow::Result<()> {
        match self.checkpoint {
            Some(cp) => cp.save(self.experiment.record(), self.lock().clone()),
            None => Ok(()),
        }
    }
}

/// A run that finished.
pub struct Finished<E: Experiment> {
    /// What [`Experiment::advance`] returned.
    pub output: E::Output,
    /// The progress at the end: every unit finished (a shard file's payload, where the
    /// experiment's shards and checkpoints share one).
    pub progress: E::Progress,
    /// When the whole run started, earlier parts of a resumed run included: its `elapsed()` is
    /// the run's wall time.
    pub started: Instant,
}

/// Never set: the stop flag of a run that nothing stops.
static NEVER: AtomicBool = AtomicBool::new(false);

/// Drives one [`Experiment`]: resumes, runs, saves, stops.
pub struct Executor<'a, E: Experiment> {
    experiment: &'a E,
    checkpoint: Option<&'a Checkpointer>,
    stop: &'a AtomicBool,
    observer: &'a (dyn Fn(u64) + Sync),
}

impl<'a, E: Experiment> Executor<'a, E> {
    /// An executor of `experiment` without checkpoint, stop flag or observer.
    pub fn new(experiment: &'a E) -> Self {
        Executor {
            experiment,
            checkpoint: None,
            stop: &NEVER,
            observer: &|_| {},
        }
    }

    /// Resumes from and saves to `checkpoint`, when given.
    pub fn checkpoint(mut self, checkpoint: Option<&'a Checkpointer>) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// Stops the run once `flag` is set (the progress is saved first).
    pub fn stop_on(mut self, flag: &'a AtomicBool) -> Self {
        self.stop = flag;
        self
    }

    /// Calls `observer` with each count of finished units (a progress bar).
    pub fn observe(mut self, observer: &'a (dyn Fn(u64) + Sync)) -> Self {
        self.observer = observer;
        self
    }

    /// Runs the experiment to its end, on the current thread pool: `None` once the stop flag
    /// ended it, its progress saved. A failed save at the end is warned about for a finished
    /// run and is the error of a stopped one; an error of the experiment is returned after
    /// saving what finished.
    pub fn run(self) -> anyhow::Result<Option<Finished<E>>> {
        let started = Instant::now();
        let experiment = self.experiment;
        let from = match self.checkpoint {
            Some(cp) => match cp.load::<_, E::Progress>(experiment.record())? {
                Some(progress) => {
                    cp.announce_resume(&experiment.describe(&progress));
                    progress
                }
                None => experiment.start(),
            },
            None => experiment.start(),
        };
        let session = Session {
            experiment,
            progress: Mutex::new(from.clone()),
            checkpoint: self.checkpoint,
            stop: self.stop,
            observer: self.observer,
        };
        let result = experiment.advance(&from, &session);
        let saved = session.save();
        let output = match result {
            Err(e) => {
                if let Err(s) = saved {
                    warn_unsaved(&s);
                }
                return Err(e);
            }
            Ok(None) => {
                saved.context("interrupted, and the progress could not be kept")?;
                return Ok(None);
            }
            Ok(Some(output)) => output,
        };
        if let Err(e) = saved {
            warn_unsaved(&e);
        }
        let started = self
            .checkpoint
            .map_or(started, |cp| cp.run_started(started));
        Ok(Some(Finished {
            output,
            progress: session
                .progress
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
            started,
        }))
    }
}
