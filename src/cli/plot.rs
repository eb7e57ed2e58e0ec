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

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;

use crate::experiments::memorize::MemorizeRow;
use crate::export::write_atomic;
use crate::plot::convergence::{convergence_svg, ConvergencePoint};
use crate::plot::figure1a::{figure1a_svg, MemorisePoint};
use crate::plot::figure3::{figure3_svg, MiPanel, MiPoint};
use crate::plot::scaling::{scaling_svg, ScalingPoint};
use crate::plot::{noise_corr_svg, Series};
use crate::report::{ConvergenceRow, ExactRow};

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
    Figure3 {
        /// Exact-result CSVs (`peff exact`), one panel each, in order.
        #[arg(default_values = ["results/exact-regression.csv", "results/exact-classification.csv"])]
        inputs: Vec<PathBuf>,
        /// Output SVG.
        #[arg(long, default_value = "results/figure3.svg")]
        out: PathBuf,
    },
    /// Figure 1a: memorised fraction vs density (log scale) per method, ± s.e. bands.
    Figure1a {
        /// Memorisation CSV (`peff memorize`).
        #[arg(default_value = "results/memorize-gaussian.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/figure1a.svg")]
        out: PathBuf,
    },
    /// Noise correlation C vs epoch with ± s.e. bands (IMP: prunes marked; sweeps: one curve per value).
    NoiseCorr {
        /// `peff noise-corr` CSV.
        #[arg(default_value = "results/noise-corr.csv")]
        input: PathBuf,
        /// Output SVG (default: the input with `.svg`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// I(m; D | init) vs the number of points n at fixed k, with H(D) and the ceiling.
    Scaling {
        /// Scaling CSV (`peff scaling`).
        #[arg(default_value = "results/scaling-n.csv")]
        input: PathBuf,
        /// Comma-separated kept counts k, one panel each (they must be in the table).
        #[arg(long, default_value = "16,9,5")]
        k: String,
        /// Output SVG.
        #[arg(long, default_value = "results/scaling-n.svg")]
        out: PathBuf,
    },
    /// Estimator convergence to the exact value vs the number of samples.
    Convergence {
        /// Convergence CSV (`peff converge`).
        #[arg(default_value = "results/convergence.csv")]
        input: PathBuf,
        /// Output SVG.
        #[arg(long, default_value = "results/convergence.svg")]
        out: PathBuf,
    },
}

fn read_rows<R: DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<R>> {
    let bytes = crate::export::read_capped(path, crate::export::MAX_RESULT_BYTES, "plot input")?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
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
    let rows: Vec<CorrCsvRow> = read_rows(path)?;
    let first = rows
        .first()
        .with_context(|| format!("'{}' has no rows", path.display()))?;
    let mut series: Vec<Series> = Vec::new();
    let mut keys: Vec<Option<u64>> = Vec::new();
    let mut prunes = Vec::new();
    let mut last = (first.level, first.density);
    for r in &rows {
        if r.level != last.0 && r.sweep.is_none() {
            prunes.push(r.epoch as f64 - 0.5);
        }
        last = (r.level, r.density);
        let (Some(mean), Some(se)) = (r.corr_mean, r.corr_se) else {
            continue; // every seed diverged by this epoch
        };
        let key = r.value.map(f64::to_bits);
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                let label = match (&r.sweep, r.value) {
                    (Some(s), Some(v)) if s == "lr" => format!("learning rate {v}"),
                    (Some(_), Some(v)) => format!("gradient-noise variance {v}"),
                    _ => format!("IMP, {} seeds", r.seeds),
                };
                series.push(Series {
                    label,
                    x: Vec::new(),
                    mean: Vec::new(),
                    se: Vec::new(),
                });
                keys.len() - 1
            }
        };
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
    Ok(noise_corr_svg(&title, &x_label, &series, &prunes)?)
}

/// Draws the requested figure, writes it atomically and prints its path.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let noise_out;
    let (svg, out) = match &args.figure {
        Figure::NoiseCorr { input, out } => {
            noise_out = out.clone().unwrap_or_else(|| input.with_extension("svg"));
            (noise_corr_figure(input)?, &noise_out)
        }
        Figure::Figure3 { inputs, out } => {
            let panels = inputs
                .iter()
                .map(|path| {
                    let rows: Vec<ExactRow> = read_rows(path)?;
                    let title = rows
                        .first()
                        .map_or_else(|| path.display().to_string(), |r| r.task.clone());
                    let points = rows
                        .iter()
                        .map(|r| MiPoint {
                            method: r.method.clone(),
                            k: r.k,
                            p: (r.k as f64 / (1.0 - r.sparsity)).round() as usize,
                            mi_bits: r.mi_bits,
                            ceiling_bits: r.ceiling_bits,
                        })
                        .collect();
                    Ok(MiPanel { title, points })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            (figure3_svg(&panels)?, out)
        }
        Figure::Figure1a { input, out } => {
            let rows: Vec<MemorizeRow> = read_rows(input)?;
            let dataset = rows.first().map_or("", |r| r.dataset.as_str()).to_string();
            let seeds = rows.iter().map(|r| r.seeds).max().unwrap_or(0);
            // Rows where every seed diverged have no mean: nothing to draw.
            let points: Vec<MemorisePoint> = rows
                .into_iter()
                .filter_map(|r| {
                    Some(MemorisePoint {
                        method: r.method,
                        density: r.density,
                        mean: r.memorised_mean?,
                        se: r.memorised_se?,
                    })
                })
                .collect();
            let title = format!("Memorisation capacity ({dataset}, {seeds} seeds)");
            (figure1a_svg(&title, &points)?, out)
        }
        Figure::Scaling { input, k, out } => {
            /// The columns of a `peff scaling` CSV the figure reads.
            #[derive(serde::Deserialize)]
            struct Row {
                input_dim: usize,
                n: usize,
                method: String,
                k: usize,
                mi_bits: f64,
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
            let rows: Vec<Row> = read_rows(input)?;
            let dims: std::collections::BTreeSet<usize> =
                rows.iter().map(|r| r.input_dim).collect();
            if dims.len() > 1 {
                anyhow::bail!(
                    "'{}' mixes input dimensions {dims:?}; the scaling figure plots one d (x is n)",
                    input.display()
                );
            }
            let points: Vec<ScalingPoint> = rows
                .into_iter()
                .filter(|r| ks.contains(&r.k))
                .map(|r| ScalingPoint {
                    method: r.method,
                    n: r.n,
                    k: r.k,
                    mi_bits: r.mi_bits,
                    data_entropy_bits: r.data_entropy_bits,
                    ceiling_bits: r.ceiling_bits,
                })
                .collect();
            for &want in &ks {
                if !points.iter().any(|p| p.k == want) {
                    anyhow::bail!("`--k` {want} has no rows in '{}'", input.display());
                }
            }
            (scaling_svg(&points)?, out)
        }
        Figure::Convergence { input, out } => {
            let rows: Vec<ConvergenceRow> = read_rows(input)?;
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
            (convergence_svg(&points)?, out)
        }
    };
    write_atomic(out, svg.as_bytes())?;
    println!("{}", out.display());
    Ok(())
}
