//! How every command runs an [`Experiment`] from the command line: the library's
//! [`Executor`] on a thread pool of the user's size, with a progress bar, the stop signal
//! installed, and the messages of a run that was interrupted; and the shard file a `--shard`
//! run writes.

use std::path::Path;

use crate::experiments::pipeline::checkpoint::{interrupted, Checkpointer};
use crate::experiments::pipeline::{Executor, Experiment, Finished};
use crate::export::write_atomic;
use crate::record::{RunRecord, ShardFile, ShardPayload};

use super::common::{progress_bar, thread_pool};

/// Runs `experiment` to its end on `threads` threads, resuming from and saving to
/// `checkpoint`; `on_stop` says on stderr what a first Ctrl-C does. An interrupted run is an
/// error saying where its progress is.
pub(crate) fn execute<E: Experiment>(
    experiment: &E,
    threads: usize,
    checkpoint: Option<&Checkpointer>,
    on_stop: &'static str,
) -> anyhow::Result<Finished<E>> {
    run_to_end(experiment, threads, checkpoint, on_stop)?.ok_or_else(|| interrupted(checkpoint))
}

/// Reruns `experiment` on `threads` threads for `peff verify`: its output, or an error once a
/// signal abandons it.
pub(crate) fn rerun<E: Experiment>(experiment: &E, threads: usize) -> anyhow::Result<E::Output> {
    let on_stop = "stopping: the rerun is abandoned and nothing is verified…";
    match run_to_end(experiment, threads, None, on_stop)? {
        Some(finished) => Ok(finished.output),
        None => anyhow::bail!("interrupted; nothing verified"),
    }
}

/// [`execute`] with `None` for a run a signal stopped.
fn run_to_end<E: Experiment>(
    experiment: &E,
    threads: usize,
    checkpoint: Option<&Checkpointer>,
    on_stop: &'static str,
) -> anyhow::Result<Option<Finished<E>>> {
    super::signals::announce(on_stop);
    let stop = super::signals::install();
    let pool = thread_pool(threads)?;
    let (units, unit) = experiment.work();
    let bar = progress_bar(units, unit);
    let ended = pool.install(|| {
        Executor::new(experiment)
            .checkpoint(checkpoint)
            .stop_on(stop)
            .observe(&|n| bar.inc(n))
            .run()
    });
    match &ended {
        Ok(Some(_)) => bar.finish_and_clear(),
        _ => bar.abandon(),
    }
    ended
}

/// Writes the shard file of a `--shard` run (atomically) and names it: its path on stdout, and
/// a line on stderr.
pub(crate) fn write_shard<C, P>(path: &Path, run: &RunRecord<C>, payload: P) -> anyhow::Result<()>
where
    C: serde::Serialize + serde::de::DeserializeOwned + Clone,
    P: ShardPayload<C>,
{
    let file = ShardFile::new(run.clone(), payload);
    write_atomic(path, serde_json::to_string(&file)?.as_bytes())?;
    println!("{}", path.display());
    eprintln!("wrote {}", path.display());
    Ok(())
}
