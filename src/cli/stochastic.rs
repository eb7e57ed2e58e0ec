//! `peff stochastic`: mask information under stochastic training,
//! `I(m; D | init) = H(m | init) − E_D H(m | D, init)`, exact over the datasets and estimated
//! over `S` training seeds per dataset ([`crate::experiments::toy::stochastic`]), at every
//! setting of a sweep of minibatch sizes `B` and gradient-noise variances `σ²`, for the mask and
//! its summaries `f(m)`. Writes `<out>/<name>.csv`, `.json` and `.svg`.

use anyhow::{bail, Context};
use clap::Args;

use super::args::{split_list, ToyArgs};
use super::common::{Destination, VerifyRequest};
use super::errors::quote;
use crate::experiments::pipeline::checkpoint::Checkpointer;
use crate::experiments::toy::stochastic::{
    Setting, StochasticRow, StochasticRun, StochasticStudy, Summary, MAX_BOOTSTRAP,
};
use crate::model::toy::lanes::Stochastic;
use crate::plot::stochastic::{stochastic_points, stochastic_svg};
use crate::record::{ResultFile, RunRecord, Threads};

/// Default `--k` of the study (when neither `--k` nor `--sparsity` is given).
pub const DEFAULT_K: &str = "16,12";
/// Default `--grad-noise` of the study.
pub const DEFAULT_GRAD_NOISE: &str = "0,0.001,0.01,0.1";
/// Largest `--train-seeds`.
pub const MAX_TRAIN_SEEDS: i64 = crate::experiments::toy::stochastic::MAX_TRAIN_SEEDS as i64;
/// Default `--max-runs`.
pub const DEFAULT_MAX_RUNS: u64 = 10_000_000;

/// How `--batch-size` and `--grad-noise` combine into settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Grid {
    /// Every batch size without noise (sweep `batch-size`), and every noise variance at full
    /// batch `B = n` (sweep `grad-noise`).
    Cross,
    /// Every (batch size, noise) pair (sweep `grid`).
    Product,
}

/// Flags of `peff stochastic`. The shared flags it refuses are hidden from its `--help`.
#[derive(Debug, Args, Clone)]
#[command(mut_arg("shard", |a| a.hide(true)), mut_arg("inits", |a| a.hide(true)), mut_arg("dump_init", |a| a.hide(true)))]
pub struct StochasticArgs {
    /// The toy experiment's flags (as `peff exact`; default `--k 16,12`).
    #[command(flatten)]
    pub toy: ToyArgs,
    /// Comma-separated minibatch sizes B in [1, n] (default: every divisor of n).
    #[arg(long, allow_hyphen_values = true)]
    pub batch_size: Option<String>,
    /// Comma-separated gradient-noise variances σ² ≥ 0 (Gaussian, on every gradient coordinate).
    #[arg(long, allow_hyphen_values = true, default_value = DEFAULT_GRAD_NOISE)]
    pub grad_noise: String,
    /// How batch sizes and noise variances combine.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Grid::Cross)]
    pub grid: Grid,
    /// Training seeds S per dataset; a comma-separated list estimates at each S from the first
    /// S seeds of one run of the largest.
    #[arg(long, allow_hyphen_values = true, default_value = "8")]
    pub train_seeds: String,
    /// Comma-separated mask summaries: mask, layer, unit, input.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "mask,layer,unit,input"
    )]
    pub summaries: String,
    /// Bootstrap replicates over the seeds for the interval of I (0: none; else at least 2).
    #[arg(long, allow_hyphen_values = true, default_value_t = 100)]
    pub bootstrap: i64,
    /// Seed of the bootstrap streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub bootstrap_seed: u64,
    /// Refuse settings of more training runs (datasets × S) than this.
    #[arg(long, allow_hyphen_values = true)]
    pub max_runs: Option<i64>,
}

/// A validated study and its run limits.
struct Valid {
    study: StochasticStudy,
    threads: usize,
    datasets: u64,
    checkpoint: Option<Checkpointer>,
}

impl StochasticArgs {
    fn validate(&self) -> anyhow::Result<Valid> {
        self.toy
            .refuse_unused("stochastic", &["--shard", "--inits", "--dump-init"])?;
        let mut toy = self.toy.clone();
        if toy.k.is_none() && toy.sparsity.is_none() {
            toy.k = Some(DEFAULT_K.to_string());
        }
        let run = toy.validate()?;
        let exp = run.experiment;
        let n = exp.space.n;
        let batch_sizes: Vec<usize> = match &self.batch_size {
            None => (1..=n).filter(|b| n % b == 0).collect(),
            Some(list) => split_list("--batch-size", list)?
                .into_iter()
                .map(|s| {
                    let b: i64 = s.parse().map_err(|_| {
                        anyhow::anyhow!("`--batch-size`: not an integer: {}", quote(s))
                    })?;
                    if b < 1 || b > n as i64 {
                        bail!("`--batch-size` must be in [1, n = {n}], got {b}");
                    }
                    Ok(b as usize)
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let noises: Vec<f64> = split_list("--grad-noise", &self.grad_noise)?
            .into_iter()
            .map(|s| {
                let v: f64 = s
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`--grad-noise`: not a number: {}", quote(s)))?;
                if !(v.is_finite() && v >= 0.0) {
                    bail!("`--grad-noise` must be a finite variance ≥ 0, got {s}");
                }
                Ok(v)
            })
            .collect::<anyhow::Result<_>>()?;
        let mut seeds: Vec<usize> = split_list("--train-seeds", &self.train_seeds)?
            .into_iter()
            .map(|s| {
                let v: i64 = s.parse().map_err(|_| {
                    anyhow::anyhow!("`--train-seeds`: not an integer: {}", quote(s))
                })?;
                if !(1..=MAX_TRAIN_SEEDS).contains(&v) {
                    bail!("`--train-seeds` must be in [1, {MAX_TRAIN_SEEDS}], got {v}");
                }
                Ok(v as usize)
            })
            .collect::<anyhow::Result<_>>()?;
        seeds.sort_unstable();
        let summaries: Vec<Summary> = split_list("--summaries", &self.summaries)?
            .into_iter()
            .map(|s| {
                Summary::from_name(s).with_context(|| {
                    format!(
                        "`--summaries`: unknown summary {} (valid: mask, layer, unit, input)",
                        quote(s)
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        if self.bootstrap == 1 || !(0..=MAX_BOOTSTRAP as i64).contains(&self.bootstrap) {
            bail!(
                "`--bootstrap` must be 0 (no interval) or in [2, {MAX_BOOTSTRAP}], got {}",
                self.bootstrap
            );
        }
        let settings: Vec<Setting> = match self.grid {
            Grid::Cross => {
                let mut s: Vec<Setting> = batch_sizes
                    .iter()
                    .map(|&b| setting("batch-size", b, 0.0))
                    .collect();
                s.extend(noises.iter().map(|&v| setting("grad-noise", n, v)));
                s
            }
            Grid::Product => batch_sizes
                .iter()
                .flat_map(|&b| noises.iter().map(move |&v| setting("grid", b, v)))
                .collect(),
        };
        let space = exp.space;
        let datasets = space
            .num_multisets()
            .filter(|_| space.total_weight().is_some())
            .context("the dataset count overflows")?;
        if datasets > run.max_datasets as u128 {
            bail!(
                "enumeration has {datasets} datasets (multisets), more than `--max-datasets` {}; lower `--n` or raise `--max-datasets`",
                run.max_datasets
            );
        }
        let max_runs = match self.max_runs {
            None => DEFAULT_MAX_RUNS,
            Some(m) if m >= 1 => m as u64,
            Some(m) => bail!("`--max-runs` must be ≥ 1, got {m}"),
        };
        let s_max = *seeds.last().expect("split_list gives at least one");
        let runs = datasets * s_max as u128;
        if runs > max_runs as u128 {
            bail!(
                "a setting has {datasets} datasets × S = {s_max} seeds = {runs} training runs, more than `--max-runs` {max_runs}; lower `--train-seeds` or `--n`, or raise `--max-runs`"
            );
        }
        let study = StochasticStudy {
            experiment: exp,
            settings,
            train_seeds: seeds,
            summaries,
            bootstrap: self.bootstrap as usize,
            bootstrap_seed: self.bootstrap_seed,
        };
        // The flags' checks above name the flag; this is the one check of a study, shared
        // with `peff verify`, and must agree with them.
        study.validate()?;
        check_memory(&study, datasets, run.threads)?;
        Ok(Valid {
            study,
            threads: run.threads,
            datasets: datasets as u64,
            checkpoint: self
                .toy
                .checkpoint
                .as_ref()
                .map(|path| Checkpointer::new(path, run.checkpoint_interval)),
        })
    }
}

/// Bytes a training run of a setting holds for each row of the (method, k) grid: its mask
/// word and tie flag in the per-run table and in the per-row table, and its summary key while
/// the rows are estimated. Measured (22–29 B; `docs/large-runs.md`, "Memory"), rounded up.
pub const BYTES_PER_RUN_ROW: u128 = 32;
/// Bytes a training run holds whatever the grid: its job entry and its row of results.
pub const BYTES_PER_RUN: u128 = 64;
/// Bytes a training run holds per worker thread: each thread's summary keys of the runs while
/// it estimates a row (measured: 103 B for a second thread), rounded up.
pub const BYTES_PER_RUN_THREAD: u128 = 112;

/// Refuses a study whose largest setting's runs (`datasets` × the largest `S`, all held until
/// its rows are estimated by `threads` workers) would exceed the memory this process may use
/// ([`super::common::check_memory`]); `peff verify` applies it too.
fn check_memory(study: &StochasticStudy, datasets: u128, threads: usize) -> anyhow::Result<()> {
    let s_max = *study.train_seeds.last().context("the study has no `S`")?;
    let runs = datasets.saturating_mul(s_max as u128);
    let rows = study.experiment.rows().len() as u128;
    let per_run =
        BYTES_PER_RUN + rows * BYTES_PER_RUN_ROW + threads.max(1) as u128 * BYTES_PER_RUN_THREAD;
    super::common::check_memory(
        runs.saturating_mul(per_run),
        &format!(
            "{runs} training runs per setting × {per_run} B for {rows} rows and {threads} threads"
        ),
        "`--train-seeds`, `--n`, `--k`, `--methods` or `--max-runs`",
    )
}

fn setting(sweep: &str, batch_size: usize, grad_noise: f64) -> Setting {
    Setting {
        sweep: sweep.to_string(),
        training: Stochastic {
            batch_size,
            grad_noise,
        },
    }
}

/// `peff stochastic`: validates every flag and the run sizes before any work, runs every
/// setting (each enumeration × S seeds), writes the table, its JSON record and the SVG.
pub fn run(args: &StochasticArgs) -> anyhow::Result<()> {
    let valid = args.validate()?;
    args.toy
        .note_rows(&crate::experiments::toy::settings::ValidToy {
            experiment: valid.study.experiment.clone(),
            init_seeds: Vec::new(),
            threads: valid.threads,
            max_datasets: 0,
            checkpoint_interval: 0.0,
        });
    let study = valid.study;
    let output = &args.toy.output;
    let dest = Destination::of(output, || {
        Ok(format!("stochastic-{}", study.experiment.task))
    })?;
    let [_, json_path] = dest.paths();
    let svg_path = output.out.join(format!("{}.svg", dest.stem));
    let checkpoint = valid.checkpoint;
    let mut others: Vec<(&str, &std::path::Path)> = vec![("the figure", &svg_path)];
    others.extend(checkpoint.as_ref().map(|cp| ("`--checkpoint`", cp.path())));
    let record = RunRecord {
        command: "stochastic".to_string(),
        config: study.clone(),
        shard: None,
    };
    dest.check_before_work(None, &record, &others)?;
    // As the CSV: a figure without its JSON record may be another run's (or the user's).
    if !output.force && svg_path.exists() && !json_path.exists() {
        bail!(
            "'{}' exists without its JSON record, so peff cannot tell which run wrote it; choose `--name` or `--out`, or pass `--force` to replace it",
            svg_path.display()
        );
    }
    let finished = super::drive::execute(
        &StochasticRun { record: &record },
        valid.threads,
        checkpoint.as_ref(),
        "stopping: the settings finished so far are kept with `--checkpoint`…",
    )?;
    let started = finished.started;
    let finished = finished.output;
    warn_of_divergence(&study, &finished, valid.datasets);
    let rows: Vec<StochasticRow> = finished.into_iter().flatten().collect();
    let points = stochastic_points(&rows);
    let svg = if points.is_empty() {
        None
    } else {
        Some(stochastic_svg(&points).context("drawing the figure")?)
    };
    let file = ResultFile::new(
        &record,
        Threads::Ran(valid.threads),
        started.elapsed().as_secs_f64(),
        &rows,
    );
    if svg.is_none() {
        eprintln!("{}", no_figure_note(&study, &rows));
    }
    dest.emit_with_figure(file, Some((&svg_path, svg)))
}

/// Why a stochastic table has no figure: every training run of the drawn rows diverged, or
/// it has no drawn rows (the `mask` rows at the largest `S` of methods other than random).
fn no_figure_note(study: &StochasticStudy, rows: &[StochasticRow]) -> String {
    let s_max = study.train_seeds.last().copied().unwrap_or(0);
    let drawn = rows
        .iter()
        .filter(|r| r.summary == "mask" && r.train_seeds == s_max && r.method != "random");
    if drawn.clone().next().is_some() && drawn.clone().all(|r| r.mi_bits.is_none()) {
        "note: no figure: every training run diverged in every row it draws (the `mask` rows of methods other than random)".to_string()
    } else {
        "note: no figure: it draws the `mask` rows of methods other than random, and there are none"
            .to_string()
    }
}

/// A warning per setting whose training runs diverged (counted in `diverged`, left out of the
/// estimates), as `memorize` and `noise-corr` warn.
fn warn_of_divergence(study: &StochasticStudy, settings: &[Vec<StochasticRow>], datasets: u64) {
    let s_max = *study.train_seeds.last().expect("validated");
    for (setting, rows) in study.settings.iter().zip(settings) {
        let drawn = || {
            rows.iter()
                .filter(|r| r.summary == "mask" && r.train_seeds == s_max && r.method != "random")
        };
        // Methods scoring the initial network lost no training: no mask there means
        // non-finite scores.
        for r in drawn().filter(|r| r.diverged > 0 && super::common::scores_at_init(&r.method)) {
            super::common::warn_non_finite_scores(
                &r.method,
                r.diverged,
                datasets * s_max as u64,
                &format!(
                    "training runs at k = {}, B = {}, σ² = {}",
                    r.k, setting.training.batch_size, setting.training.grad_noise
                ),
            );
        }
        let trained = drawn().filter(|r| !super::common::scores_at_init(&r.method));
        let (diverged, runs) = trained.fold((0, 0), |(d, n), r| {
            (d + r.diverged, n + datasets * s_max as u64)
        });
        if diverged > 0 {
            eprintln!(
                "warning: at B = {}, σ² = {}, {diverged} of {runs} training runs diverged (NaN/∞ loss); they are counted in `diverged` and left out of the estimates",
                setting.training.batch_size, setting.training.grad_noise
            );
        }
    }
}

/// Most training runs per setting (datasets × `S`) `peff verify` reruns of a stochastic
/// result.
const MAX_VERIFY_RUNS: u128 = 1_000_000_000;

/// `peff verify` of a `peff stochastic` result: checks the recorded study
/// ([`StochasticStudy::validate`]), reruns every setting through [`run_settings`] on `threads`
/// threads (the table does not depend on them) and compares the rows with the recorded ones,
/// and the CSV beside the file, when there is one, with the rerun's. The figure is not
/// checked.
pub(crate) fn verify(request: &VerifyRequest<'_>) -> anyhow::Result<()> {
    let threads = request.threads.validate()?;
    let (path, text) = (request.file, request.text);
    #[derive(serde::Deserialize)]
    struct Recorded {
        run: RunRecord<StochasticStudy>,
    }
    let shown = path.display();
    let recorded: Recorded = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff stochastic result"))?;
    let record = &recorded.run;
    if let Some(s) = record.shard {
        bail!(
            "'{shown}' records shard {}/{}, but `peff stochastic` runs whole studies only: it is not a whole run's result",
            s.index,
            s.count
        );
    }
    let study = &record.config;
    study
        .validate()
        .with_context(|| format!("'{shown}': recorded configuration"))?;
    let space = study.experiment.space;
    let datasets = space
        .num_multisets()
        .filter(|_| space.total_weight().is_some())
        .with_context(|| format!("'{shown}': the recorded dataset count overflows"))?;
    let s_max = *study.train_seeds.last().expect("validated");
    let runs = datasets.saturating_mul(s_max as u128);
    if runs > MAX_VERIFY_RUNS {
        bail!(
            "'{shown}': a setting of the recorded study has {datasets} datasets × S = {s_max} seeds = {runs} training runs, more than the {MAX_VERIFY_RUNS} `peff verify` reruns"
        );
    }
    check_memory(study, datasets, threads).with_context(|| format!("'{shown}': rerunning it"))?;
    let finished = super::drive::rerun(&StochasticRun { record }, threads)?;
    let rows: Vec<StochasticRow> = finished.into_iter().flatten().collect();
    let table = super::compare::check_table(path, text, &rows)?;
    super::compare::check_envelope(path, text, None)?;
    println!("verified: '{shown}' reproduces {table}");
    Ok(())
}
