//! `peff plot`: SVG figures drawn from result files only (never from live training state); the
//! drawing is [`crate::plot`], one file per figure.
//!
//! - `figure3`: mask entropy = `I(m; D | init)` vs sparsity per method, with the ceiling
//!   `log2 C(p, k)`, one panel per exact-result CSV (the paper's Figure 3).
//! - `figure1a`: memorised fraction vs density (log) per method with ± s.e. bands (from
//!   `peff memorize`; the paper's Figure 1a, or 1b for a FashionMNIST table).
//! - `noise-corr`: the correlation with label noise vs epoch, ± s.e. bands, IMP prunes marked
//!   (from `peff noise-corr`).
//! - `convergence`: each estimator's estimate ± bootstrap interval vs the number of sampled
//!   datasets `N`, against the exact value (from `peff converge`).
//! - `stochastic`: `I(m; D | init)` and `E_D H(m | D, init)` per setting of each sweep (from
//!   `peff stochastic`; the figure that command draws beside its table).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;

use crate::experiments::memorize::MemorizeRow;
use crate::experiments::toy::report::{ConvergenceRow, ExactRow};
use crate::export::write_atomic;
use crate::plot::convergence::{convergence_svg, ConvergencePoint};
use crate::plot::figure1a::{figure1a_svg, MemorisePoint};
use crate::plot::figure3::{figure3_svg, MiPanel, MiPoint};
use crate::plot::scaling::{scaling_svg, ScalingPoint};
use crate::plot::{noise_corr_svg, Series};

/// Flags of `peff plot`.
#[derive(Debug, Args, Clone)]
#[command(arg_required_else_help = true)]
pub struct PlotArgs {
    /// Which figure.
    #[command(subcommand)]
    pub figure: Figure,
}

/// The figures `peff plot` draws.
#[derive(Debug, Subcommand, Clone)]
pub enum Figure {
    /// Figure 3: MI vs sparsity per method with the log2 C(p, k) ceiling, one panel per CSV.
    ///
    /// Examples:
    ///   peff plot figure3                                   (both exact tables → results/figure3.svg)
    ///   peff plot figure3 results/exact-regression.csv --out fig.svg
    #[command(verbatim_doc_comment)]
    Figure3 {
        /// Exact-result CSVs (`peff exact`), one panel each, in order.
        #[arg(default_values = ["results/exact-regression.csv", "results/exact-classification.csv"])]
        inputs: Vec<PathBuf>,
        /// Output SVG.
        #[arg(long, default_value = "results/figure3.svg")]
        out: PathBuf,
    },
    /// Figure 1a: memorised fraction vs density (log scale) per method, ± s.e. bands.
    ///
    /// Examples:
    ///   peff plot figure1a                                  (results/memorize-gaussian.csv)
    ///   peff plot figure1a results/memorize-gaussian-patience2000.csv --out results/figure1a-patience2000.svg
    #[command(verbatim_doc_comment)]
    Figure1a {
        /// Memorisation CSV (`peff memorize`).
        #[arg(default_value = "results/memorize-gaussian.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/figure1a.svg")]
        out: PathBuf,
    },
    /// Figure 1b: train accuracy vs density (log scale) per method, ± s.e. bands (the paper's y-axis for noisy images).
    ///
    /// Examples:
    ///   peff plot figure1b                                  (results/memorize-fashion-mnist.csv)
    ///   peff plot figure1b merged/memorize-fashion-mnist.csv --out fig1b.svg
    #[command(verbatim_doc_comment)]
    Figure1b {
        /// Memorisation CSV (`peff memorize`) with accuracy columns.
        #[arg(default_value = "results/memorize-fashion-mnist.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/figure1b.svg")]
        out: PathBuf,
    },
    /// Figure 1c: the ConvNet's train accuracy vs density (log scale) per method, ± s.e. bands.
    ///
    /// Examples:
    ///   peff plot figure1c                                  (results/memorize-conv-fashion-mnist.csv)
    ///   peff plot figure1c results/memorize-cifar10.csv --out results/figure1c-cifar10.svg
    #[command(verbatim_doc_comment)]
    Figure1c {
        /// Memorisation CSV of `peff memorize --arch conv`.
        #[arg(default_value = "results/memorize-conv-fashion-mnist.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/figure1c.svg")]
        out: PathBuf,
    },
    /// Noise correlation C vs epoch with ± s.e. bands (IMP: prunes marked; sweeps: one curve per value).
    ///
    /// Examples:
    ///   peff plot noise-corr                                (results/noise-corr.csv → results/noise-corr.svg)
    ///   peff plot noise-corr results/noise-corr-lr.csv      (→ results/noise-corr-lr.svg)
    ///   peff plot noise-corr results/noise-corr-fig2.csv --out fig2.svg
    #[command(verbatim_doc_comment)]
    NoiseCorr {
        /// `peff noise-corr` CSV.
        #[arg(default_value = "results/noise-corr.csv")]
        input: PathBuf,
        /// Output SVG (default: the input with `.svg`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// I(m; D | init) vs the number of points n at fixed k, with H(D) and the ceiling.
    ///
    /// Examples:
    ///   peff plot scaling                                   (what a plain `peff scaling` wrote)
    ///   peff plot scaling results/scaling-n.csv             (→ results/scaling-n.svg)
    ///   peff plot scaling results/scaling-n.csv --k 16,9 --out scaling.svg
    #[command(verbatim_doc_comment)]
    Scaling {
        /// Scaling CSV (`peff scaling`; default: what a plain `peff scaling` writes).
        #[arg(default_value = "results/scaling-regression-d3-n1-10.csv")]
        input: PathBuf,
        /// Comma-separated kept counts k, one panel each (they must be in the table).
        #[arg(long, default_value = "16,9,5")]
        k: String,
        /// Output SVG (default: the input with `.svg`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// I(m; D | init) and E_D H(m | D, init) per setting of each sweep (the figure `peff stochastic` draws).
    ///
    /// Examples:
    ///   peff plot stochastic                                (results/stochastic-regression.csv → .svg)
    ///   peff plot stochastic results/stochastic-noise.csv --out noise.svg
    #[command(verbatim_doc_comment)]
    Stochastic {
        /// Stochastic CSV (`peff stochastic`).
        #[arg(default_value = "results/stochastic-regression.csv")]
        input: PathBuf,
        /// Output SVG (default: the input with `.svg`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Estimator convergence to the exact value vs the number of samples.
    ///
    /// Examples:
    ///   peff plot convergence                               (results/convergence.csv)
    ///   peff plot convergence my/convergence.csv --out conv.svg
    #[command(verbatim_doc_comment)]
    Convergence {
        /// Convergence CSV (`peff converge`).
        #[arg(default_value = "results/convergence.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/convergence.svg")]
        out: PathBuf,
    },
}

/// Reads the rows of a result CSV whose header must be exactly one of `headers` (the columns of
/// the command that writes it: a `peff sample` or `--inits` table has other columns and is
/// refused, rather than half-read into a nonsense figure).
fn read_rows<R: DeserializeOwned>(
    path: &Path,
    headers: &[&str],
    what: &str,
) -> anyhow::Result<Vec<R>> {
    crate::export::check_result_pair(path, &path.with_extension("json"))?;
    let bytes = crate::input::read_capped(path, crate::input::MAX_RESULT_BYTES, "plot input")?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let found = reader
        .headers()
        .with_context(|| format!("'{}': not a CSV table", path.display()))?
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    if !headers.contains(&found.as_str()) {
        bail!(
            "'{}' is not {what}: its columns are {} (expected {})",
            path.display(),
            crate::cli::errors::quote(&found),
            headers.join(" or ")
        );
    }
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("'{}' line {}", path.display(), i + 2)))
        .collect()
}

/// A row of a `peff noise-corr` CSV (IMP or sweep).
#[derive(serde::Deserialize)]
struct CorrCsvRow {
    #[serde(default)]
    sweep: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    level: usize,
    density: f64,
    epoch: usize,
    corr_mean: Option<f64>,
    corr_se: Option<f64>,
    seeds: usize,
}

/// The noise-correlation SVG of a `peff noise-corr` CSV.
fn noise_corr_figure(path: &Path) -> anyhow::Result<String> {
    const IMP: &str = "level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds";
    const SWEEP: &str = "sweep,value,level,density,epoch,corr_mean,corr_se,train_loss_mean,seeds";
    let rows: Vec<CorrCsvRow> = read_rows(path, &[IMP, SWEEP], "a `peff noise-corr` table")?;
    let first = rows
        .first()
        .with_context(|| format!("'{}' has no rows", path.display()))?;
    let at = |i: usize| format!("'{}' line {}", path.display(), i + 2);
    // One table, one kind of run: the same sweep column throughout, each curve's epochs
    // 1, 2, 3, … in order, its levels never going back, each curve once.
    let mut curves: Vec<(Option<u64>, usize, usize, usize)> = Vec::new(); // key, epoch, level, first seeds
    for (i, r) in rows.iter().enumerate() {
        if r.sweep != first.sweep {
            bail!(
                "{}: sweep '{}' in a table of sweep '{}': a table holds one run",
                at(i),
                r.sweep.as_deref().unwrap_or("(IMP)"),
                first.sweep.as_deref().unwrap_or("(IMP)")
            );
        }
        if r.sweep.is_some() != r.value.is_some() {
            bail!("{}: a sweep row needs a value and an IMP row none", at(i));
        }
        let key = r.value.map(f64::to_bits);
        match curves.last_mut() {
            Some(c) if c.0 == key => {
                if r.epoch != c.1 + 1 || r.level < c.2 {
                    bail!(
                        "{}: epoch {} (level {}) follows epoch {} (level {}): epochs must count up by one, levels never go back",
                        at(i),
                        r.epoch,
                        r.level,
                        c.1,
                        c.2
                    );
                }
                c.1 = r.epoch;
                c.2 = r.level;
            }
            _ => {
                if curves.iter().any(|c| c.0 == key) {
                    bail!("{}: the curve of value {:?} appears twice", at(i), r.value);
                }
                if r.epoch != 1 {
                    bail!("{}: a curve starts at epoch {}, not 1", at(i), r.epoch);
                }
                curves.push((key, r.epoch, r.level, r.seeds));
            }
        }
    }
    if rows.iter().all(|r| r.corr_mean.is_none()) {
        return Err(all_diverged(path, rows.len()));
    }
    let mut series: Vec<Series> = Vec::new();
    let mut diverged: Vec<bool> = Vec::new();
    let mut keys: Vec<Option<u64>> = Vec::new();
    let mut prunes = Vec::new();
    let mut last = (first.level, first.density);
    for r in &rows {
        if r.level != last.0 && r.sweep.is_none() {
            prunes.push(r.epoch as f64 - 0.5);
        }
        last = (r.level, r.density);
        let key = r.value.map(f64::to_bits);
        let first_seeds = curves.iter().find(|c| c.0 == key).map_or(0, |c| c.3);
        let Some(mean) = r.corr_mean else {
            // Every seed diverged by this epoch.
            if let Some(i) = keys.iter().position(|k| *k == key) {
                diverged[i] = true;
            }
            continue;
        };
        // One seed has no standard error: no band there.
        let se = r.corr_se.unwrap_or(0.0);
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                let label = match (&r.sweep, r.value) {
                    (Some(s), Some(v)) if s == "lr" => format!("learning rate {v}"),
                    (Some(_), Some(v)) => format!("gradient-noise variance {v}"),
                    _ => format!("IMP, {}", seeds_phrase(r.seeds as u64)),
                };
                series.push(Series {
                    label,
                    x: Vec::new(),
                    mean: Vec::new(),
                    se: Vec::new(),
                });
                diverged.push(false);
                keys.len() - 1
            }
        };
        if r.seeds < first_seeds {
            diverged[i] = true;
        }
        series[i].x.push(r.epoch as f64);
        series[i].mean.push(mean);
        series[i].se.push(se);
    }
    let (title, x_label) = match first.sweep.as_deref() {
        Some("lr") => (
            "Correlation with label noise: learning-rate sweep (no pruning)".to_string(),
            "epoch".to_string(),
        ),
        Some(_) => (
            "Correlation with label noise: gradient-noise sweep (no pruning)".to_string(),
            "epoch".to_string(),
        ),
        None => (
            format!(
                "Correlation with label noise during IMP ({} prunes)",
                prunes.len()
            ),
            format!(
                "epoch (dashed: prunes of 20% of the kept weights; density 100% → {:.2}%)",
                100.0 * last.1
            ),
        ),
    };
    // Curves where seeds diverged can reach ±10^18 before the loss is NaN and would flatten
    // every other curve: the axis is scaled on the others, and those are left out (noted).
    let mut x_label = x_label;
    if diverged.iter().any(|&d| d) && diverged.iter().any(|&d| !d) {
        let left_out: Vec<String> = series
            .iter()
            .zip(&diverged)
            .filter(|(_, &d)| d)
            .map(|(s, _)| s.label.clone())
            .collect();
        eprintln!(
            "note: '{}': left out of the figure, because some of their seeds diverged: {}",
            path.display(),
            left_out.join(", ")
        );
        x_label = format!(
            "{x_label}; left out (runs diverged): {}",
            left_out.join(", ")
        );
        series = series
            .into_iter()
            .zip(&diverged)
            .filter(|(_, &d)| !d)
            .map(|(s, _)| s)
            .collect();
    }
    Ok(noise_corr_svg(&title, &x_label, &series, &prunes)?)
}

/// The CSV header line of a row type.
fn header_of<R: serde::Serialize>(row: &R) -> String {
    crate::export::to_csv(std::slice::from_ref(row))
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default()
}

/// The figure-3 points of an exact table, after checking that each row is one `peff exact`
/// could have written: a known method, `1 ≤ k < p ≤ 64` with one `p` for the file, the ceiling
/// equal to `log2 C(p, k)`, `0 ≤ mi_bits ≤ ceiling_bits`, each (method, k) once. Rows whose every
/// run diverged (empty `mi_bits`) are left out, with a note.
fn figure3_points(path: &Path, rows: &[ExactRow]) -> anyhow::Result<Vec<MiPoint>> {
    let at = |i: usize| format!("'{}' line {}", path.display(), i + 2);
    let mut points: Vec<MiPoint> = Vec::new();
    let mut p_file = None;
    let mut skipped = 0;
    for (i, r) in rows.iter().enumerate() {
        if r.task != rows[0].task {
            bail!(
                "{}: task '{}' in a table of task '{}': one panel draws one run",
                at(i),
                r.task,
                rows[0].task
            );
        }
        if crate::prune::Method::from_name(&r.method).is_none() {
            bail!(
                "{}: unknown method {}",
                at(i),
                crate::cli::errors::quote(&r.method)
            );
        }
        if !(r.sparsity.is_finite() && (0.0..1.0).contains(&r.sparsity)) || r.k == 0 {
            bail!(
                "{}: k = {} and sparsity = {} are not a kept count of a network",
                at(i),
                r.k,
                r.sparsity
            );
        }
        let p = (r.k as f64 / (1.0 - r.sparsity)).round() as usize;
        if !(r.k < p && p <= 64) || *p_file.get_or_insert(p) != p {
            bail!(
                "{}: k = {} with sparsity {} gives p = {p}, not the file's p",
                at(i),
                r.k,
                r.sparsity
            );
        }
        let ceiling = crate::data::log2_binomial(p, r.k);
        if (r.ceiling_bits - ceiling).abs() > 1e-6 {
            bail!(
                "{}: ceiling_bits {} is not log2 C({p}, {}) = {ceiling}",
                at(i),
                r.ceiling_bits,
                r.k
            );
        }
        let Some(mi) = r.mi_bits else {
            skipped += 1;
            continue;
        };
        if !(mi.is_finite() && mi >= -1e-9 && mi <= ceiling + 1e-9) {
            bail!(
                "{}: mi_bits {mi} is outside [0, log2 C({p}, {})] = [0, {ceiling}]",
                at(i),
                r.k
            );
        }
        if points.iter().any(|q| q.method == r.method && q.k == r.k) {
            bail!("{}: {} at k = {} appears twice", at(i), r.method, r.k);
        }
        points.push(MiPoint {
            method: r.method.clone(),
            k: r.k,
            p,
            mi_bits: mi,
            ceiling_bits: r.ceiling_bits,
        });
    }
    if points.is_empty() && skipped > 0 {
        return Err(all_diverged(path, skipped));
    }
    if skipped > 0 {
        eprintln!(
            "note: '{}': {skipped} rows without mi_bits (every run diverged) are not drawn",
            path.display()
        );
    }
    Ok(points)
}

/// The error of a table that has rows but none to draw because every training run of every
/// row diverged: said as such, not as an empty input.
fn all_diverged(path: &Path, rows: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "'{}': every training run diverged ({rows} row{} to draw, none with a value); nothing to plot",
        path.display(),
        if rows == 1 { "" } else { "s" }
    )
}

/// "1 seed", "10 seeds".
fn seeds_phrase(seeds: u64) -> String {
    format!("{seeds} seed{}", if seeds == 1 { "" } else { "s" })
}

/// Which Figure 1 panel a `peff memorize` table is drawn as, and what it must hold.
#[derive(Clone, Copy)]
enum Panel {
    /// Fig. 1a: Gaussian data, an MLP.
    Gaussian,
    /// Fig. 1b: FashionMNIST (or CIFAR-10), an MLP.
    ImagesMlp,
    /// Fig. 1c: FashionMNIST or CIFAR-10, the ConvNet.
    ImagesConv,
}

impl Panel {
    /// Refuses a table of another dataset, or (from the JSON result beside the CSV, when there
    /// is one) of another network, in one line.
    fn check(self, input: &Path, dataset: &str) -> anyhow::Result<()> {
        let (figure, datasets, conv) = match self {
            Panel::Gaussian => ("figure1a", &["gaussian"][..], false),
            Panel::ImagesMlp => ("figure1b", &["fashion-mnist", "cifar10"][..], false),
            Panel::ImagesConv => ("figure1c", &["fashion-mnist", "cifar10"][..], true),
        };
        if !dataset.is_empty() && !datasets.contains(&dataset) {
            bail!(
                "'{}' is a table of the {dataset} dataset; `plot {figure}` draws {}",
                input.display(),
                datasets.join(" or ")
            );
        }
        let json = input.with_extension("json");
        let config = std::fs::read_to_string(&json)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v.get("run")?.get("config").cloned());
        if let Some(config) = config {
            let is_conv = config.get("convolutions").is_some();
            if is_conv != conv {
                let (what, other) = if is_conv {
                    ("the ConvNet", "figure1c")
                } else {
                    ("an MLP", "figure1a or figure1b")
                };
                bail!(
                    "'{}' is a table of {what} (its result '{}'); draw it with `plot {other}`",
                    input.display(),
                    json.display()
                );
            }
        }
        Ok(())
    }
}

/// Figure 1a (memorised fraction) or 1b/1c (train accuracy, `accuracy`, titled `subject`) from
/// a `peff memorize` table; tables from before accuracy was recorded draw only as Figure 1a.
fn memorize_figure(
    input: &Path,
    accuracy: bool,
    subject: &str,
    panel: Panel,
) -> anyhow::Result<String> {
    const HEADER: &str = "dataset,method,density,kept,memorised_mean,memorised_se,accuracy_mean,accuracy_se,seeds,capped,diverged";
    const OLD_HEADER: &str =
        "dataset,method,density,kept,memorised_mean,memorised_se,seeds,capped,diverged";
    const COLLAPSED_HEADER: &str = "dataset,method,density,kept,memorised_mean,memorised_se,accuracy_mean,accuracy_se,seeds,capped,diverged,collapsed";
    let headers: &[&str] = if accuracy {
        &[COLLAPSED_HEADER, HEADER]
    } else {
        &[COLLAPSED_HEADER, HEADER, OLD_HEADER]
    };
    let rows: Vec<MemorizeRow> = read_rows(input, headers, "a `peff memorize` table")?;
    let dataset = rows.first().map_or("", |r| r.dataset.as_str()).to_string();
    panel.check(input, &dataset)?;
    for (i, r) in rows.iter().enumerate() {
        let at = format!("'{}' line {}", input.display(), i + 2);
        if r.dataset != dataset {
            bail!(
                "{at}: dataset '{}' in a table of '{dataset}': a table holds one run",
                r.dataset
            );
        }
        if rows[..i]
            .iter()
            .any(|q| q.method == r.method && q.density.to_bits() == r.density.to_bits())
        {
            bail!("{at}: {} at density {} appears twice", r.method, r.density);
        }
    }
    let seeds = rows.iter().map(|r| r.seeds).max().unwrap_or(0);
    let total = rows.len();
    // Rows where every seed diverged have no mean: nothing to draw.
    let points: Vec<MemorisePoint> = rows
        .into_iter()
        .filter_map(|r| {
            // One seed has no standard error: no band there.
            let (mean, se) = if accuracy {
                (r.accuracy_mean?, r.accuracy_se.unwrap_or(0.0))
            } else {
                (r.memorised_mean?, r.memorised_se.unwrap_or(0.0))
            };
            Some(MemorisePoint {
                method: r.method,
                density: r.density,
                mean,
                se,
            })
        })
        .collect();
    if points.is_empty() && total > 0 {
        return Err(all_diverged(input, total));
    }
    let (title, y_label) = if accuracy {
        (
            format!(
                "{subject} on noisy data ({dataset}, {})",
                seeds_phrase(seeds)
            ),
            "train accuracy",
        )
    } else {
        (
            format!("Memorisation capacity ({dataset}, {})", seeds_phrase(seeds)),
            "memorised fraction",
        )
    };
    Ok(figure1a_svg(&title, y_label, &points)?)
}

/// Draws the requested figure, writes it atomically and prints its path.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let noise_out;
    let out: &PathBuf = match &args.figure {
        Figure::Figure3 { out, .. }
        | Figure::Convergence { out, .. }
        | Figure::Figure1a { out, .. }
        | Figure::Figure1b { out, .. }
        | Figure::Figure1c { out, .. } => out,
        Figure::NoiseCorr { input, out }
        | Figure::Scaling { input, out, .. }
        | Figure::Stochastic { input, out } => {
            noise_out = out.clone().unwrap_or_else(|| input.with_extension("svg"));
            &noise_out
        }
    };
    if out.extension().and_then(|e| e.to_str()) != Some("svg") {
        bail!(
            "`--out` must name an .svg file (peff draws SVG only), got '{}'",
            out.display()
        );
    }
    crate::export::check_output_paths(&[("`--out`", out)])?;
    let svg = match &args.figure {
        Figure::NoiseCorr { input, .. } => noise_corr_figure(input)?,
        Figure::Stochastic { input, .. } => stochastic_figure(input)?,
        Figure::Figure3 { inputs, .. } => {
            let panels = inputs
                .iter()
                .map(|path| {
                    let rows: Vec<ExactRow> =
                        read_rows(path, &[&exact_header()], "a `peff exact` table (one init)")?;
                    let title = rows
                        .first()
                        .map_or_else(|| path.display().to_string(), |r| r.task.clone());
                    let points = figure3_points(path, &rows)?;
                    Ok(MiPanel { title, points })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            figure3_svg(&panels)?
        }
        Figure::Figure1a { input, .. } => memorize_figure(input, false, "", Panel::Gaussian)?,
        Figure::Figure1b { input, .. } => {
            memorize_figure(input, true, "Train accuracy", Panel::ImagesMlp)?
        }
        Figure::Figure1c { input, .. } => {
            memorize_figure(input, true, "ConvNet train accuracy", Panel::ImagesConv)?
        }
        Figure::Scaling { input, k, .. } => {
            /// The columns of a `peff scaling` CSV the figure reads.
            #[derive(serde::Deserialize)]
            struct Row {
                input_dim: usize,
                n: usize,
                task: String,
                method: String,
                k: usize,
                mi_bits: Option<f64>,
                ceiling_bits: f64,
                data_entropy_bits: f64,
            }
            let ks: Vec<usize> = k
                .split(',')
                .map(|s| {
                    s.trim().parse().ok().with_context(|| {
                        format!(
                            "`--k` must be comma-separated kept counts, got '{}'",
                            s.trim()
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            if let Some(k) = ks
                .iter()
                .enumerate()
                .find_map(|(i, k)| ks[..i].contains(k).then_some(k))
            {
                bail!("`--k`: {k} is given twice (one panel per kept count)");
            }
            const HEADER: &str = "input_dim,n,task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,p_eff,distinct_masks,diverged,tie_mass,data_entropy_bits";
            let rows: Vec<Row> = read_rows(input, &[HEADER], "a `peff scaling` table")?;
            let dims: std::collections::BTreeSet<usize> =
                rows.iter().map(|r| r.input_dim).collect();
            if dims.len() > 1 {
                anyhow::bail!(
                    "'{}' mixes input dimensions {dims:?}; the scaling figure plots one d (x is n)",
                    input.display()
                );
            }
            for (i, r) in rows.iter().enumerate() {
                let at = format!("'{}' line {}", input.display(), i + 2);
                if r.task != rows[0].task {
                    bail!(
                        "{at}: task '{}' in a table of task '{}'",
                        r.task,
                        rows[0].task
                    );
                }
                if rows[..i]
                    .iter()
                    .any(|q| q.n == r.n && q.method == r.method && q.k == r.k)
                {
                    bail!(
                        "{at}: n = {}, {} at k = {} appears twice",
                        r.n,
                        r.method,
                        r.k
                    );
                }
            }
            let skipped = rows
                .iter()
                .filter(|r| ks.contains(&r.k) && r.mi_bits.is_none())
                .count();
            if skipped > 0 {
                eprintln!(
                    "note: '{}': {skipped} rows without mi_bits (every run diverged) are not drawn",
                    input.display()
                );
            }
            let diverged_ks: Vec<usize> = rows
                .iter()
                .filter(|r| r.mi_bits.is_none())
                .map(|r| r.k)
                .collect();
            let points: Vec<ScalingPoint> = rows
                .into_iter()
                .filter(|r| ks.contains(&r.k))
                .filter_map(|r| {
                    Some(ScalingPoint {
                        mi_bits: r.mi_bits?,
                        method: r.method,
                        n: r.n,
                        k: r.k,
                        data_entropy_bits: r.data_entropy_bits,
                        ceiling_bits: r.ceiling_bits,
                    })
                })
                .collect();
            for &want in &ks {
                if !points.iter().any(|p| p.k == want) {
                    if diverged_ks.contains(&want) {
                        anyhow::bail!(
                            "'{}': every training run diverged at `--k` {want} (its rows have no mi_bits); nothing to plot there",
                            input.display()
                        );
                    }
                    anyhow::bail!("`--k` {want} has no rows in '{}'", input.display());
                }
            }
            scaling_svg(&points)?
        }
        Figure::Convergence { input, .. } => {
            let rows: Vec<ConvergenceRow> =
                read_rows(input, &[&convergence_header()], "a `peff converge` table")?;
            for (i, r) in rows.iter().enumerate() {
                let values = [r.estimate_bits, r.ci_low_bits, r.ci_high_bits, r.exact_bits];
                if !values.iter().all(|v| v.is_finite())
                    || r.ci_low_bits > r.ci_high_bits
                    || r.samples == 0
                {
                    bail!(
                        "'{}' line {}: not a convergence row (non-finite value, interval low above high, or N = 0)",
                        input.display(),
                        i + 2
                    );
                }
            }
            let points: Vec<ConvergencePoint> = rows
                .into_iter()
                .map(|r| ConvergencePoint {
                    method: r.method,
                    k: r.k,
                    estimator: r.estimator,
                    samples: r.samples,
                    estimate_bits: r.estimate_bits,
                    ci_low_bits: r.ci_low_bits,
                    ci_high_bits: r.ci_high_bits,
                    exact_bits: r.exact_bits,
                })
                .collect();
            convergence_svg(&points)?
        }
    };
    write_atomic(out, svg.as_bytes())?;
    let inputs: Vec<String> = match &args.figure {
        Figure::Figure3 { inputs, .. } => inputs.iter().map(|p| p.display().to_string()).collect(),
        Figure::Figure1a { input, .. }
        | Figure::Figure1b { input, .. }
        | Figure::Figure1c { input, .. }
        | Figure::NoiseCorr { input, .. }
        | Figure::Scaling { input, .. }
        | Figure::Stochastic { input, .. }
        | Figure::Convergence { input, .. } => vec![input.display().to_string()],
    };
    eprintln!("read {}; wrote {}", inputs.join(" and "), out.display());
    println!("{}", out.display());
    Ok(())
}

/// The stochastic-training figure of a `peff stochastic` CSV, drawn as that command draws it
/// ([`crate::plot::stochastic::stochastic_points`]).
fn stochastic_figure(path: &Path) -> anyhow::Result<String> {
    use crate::experiments::toy::stochastic::StochasticRow;
    use crate::plot::stochastic::{stochastic_points, stochastic_svg};
    const HEADER: &str = "task,sweep,batch_size,grad_noise,train_seeds,method,k,summary,h_bits,h_cond_bits,mi_bits,mi_ci_low_bits,mi_ci_high_bits,h_cond_plugin_bits,mi_plugin_bits,mi_fraction,distinct,diverged,tie_mass";
    let rows: Vec<StochasticRow> = read_rows(path, &[HEADER], "a `peff stochastic` table")?;
    let first = rows
        .first()
        .with_context(|| format!("'{}' has no rows", path.display()))?;
    for (i, r) in rows.iter().enumerate() {
        let at = format!("'{}' line {}", path.display(), i + 2);
        if r.task != first.task {
            bail!(
                "{at}: task '{}' in a table of task '{}': a table holds one run",
                r.task,
                first.task
            );
        }
        if crate::prune::Method::from_name(&r.method).is_none() {
            bail!(
                "{at}: unknown method {}",
                crate::cli::errors::quote(&r.method)
            );
        }
    }
    let points = stochastic_points(&rows);
    if points.is_empty() {
        let s_max = rows.iter().map(|r| r.train_seeds).max().unwrap_or(0);
        let drawn = rows
            .iter()
            .filter(|r| r.summary == "mask" && r.train_seeds == s_max && r.method != "random")
            .count();
        if drawn > 0 {
            return Err(all_diverged(path, drawn));
        }
        bail!(
            "'{}' has no rows to draw: the figure draws the `mask` rows of methods other than random",
            path.display()
        );
    }
    Ok(stochastic_svg(&points)?)
}

fn exact_header() -> String {
    header_of(&ExactRow {
        task: String::new(),
        method: String::new(),
        k: 0,
        sparsity: 0.0,
        entropy_bits: None,
        mi_bits: None,
        ceiling_bits: 0.0,
        p_eff: None,
        distinct_masks: 0,
        diverged: 0,
        tie_mass: 0.0,
    })
}

fn convergence_header() -> String {
    header_of(&ConvergenceRow {
        task: String::new(),
        method: String::new(),
        k: 0,
        samples: 0,
        estimator: String::new(),
        estimate_bits: 0.0,
        ci_low_bits: 0.0,
        ci_high_bits: 0.0,
        exact_bits: 0.0,
        error_bits: 0.0,
        covered: false,
    })
}
