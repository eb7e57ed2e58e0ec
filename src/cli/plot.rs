//! `peff plot`: SVG figures drawn from result files only (never from live training state); the
//! drawing is [`crate::plot`], one file per figure.
//!
//! - `figure3`: mask entropy = `I(m; D | init)` vs sparsity per method, with the ceiling
//!   `log2 C(p, k)`, one panel per exact-result CSV (the paper's Figure 3).
//! - `convergence`: each estimator's estimate ± bootstrap interval vs the number of sampled
//!   datasets `N`, against the exact value (from `peff converge`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;

use crate::export::write_atomic;
use crate::plot::convergence::{convergence_svg, ConvergencePoint};
use crate::plot::figure3::{figure3_svg, MiPanel, MiPoint};
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

/// Reads the rows of a result CSV whose header must be exactly `header` (the columns of the
/// command that writes it: a `peff sample` or `--inits` table has other columns and is refused,
/// rather than half-read into a nonsense figure).
fn read_rows<R: DeserializeOwned>(path: &Path, header: &str, what: &str) -> anyhow::Result<Vec<R>> {
    let bytes = crate::export::read_capped(path, crate::export::MAX_RESULT_BYTES, "plot input")?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let found = reader
        .headers()
        .with_context(|| format!("'{}': not a CSV table", path.display()))?
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    if found != header {
        bail!(
            "'{}' is not {what}: its columns are {} (expected {header})",
            path.display(),
            crate::cli::errors::quote(&found)
        );
    }
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("'{}' line {}", path.display(), i + 2)))
        .collect()
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
    if skipped > 0 {
        eprintln!(
            "note: '{}': {skipped} rows without mi_bits (every run diverged) are not drawn",
            path.display()
        );
    }
    Ok(points)
}

/// Draws the requested figure, writes it atomically and prints its path.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let out = match &args.figure {
        Figure::Figure3 { out, .. } | Figure::Convergence { out, .. } => out,
    };
    if out.extension().and_then(|e| e.to_str()) != Some("svg") {
        bail!(
            "`--out` must name an .svg file (peff draws SVG only), got '{}'",
            out.display()
        );
    }
    crate::export::check_output_paths(&[("`--out`", out)])?;
    let (svg, out) = match &args.figure {
        Figure::Figure3 { inputs, out } => {
            let panels = inputs
                .iter()
                .map(|path| {
                    let rows: Vec<ExactRow> =
                        read_rows(path, &exact_header(), "a `peff exact` table (one init)")?;
                    let title = rows
                        .first()
                        .map_or_else(|| path.display().to_string(), |r| r.task.clone());
                    let points = figure3_points(path, &rows)?;
                    Ok(MiPanel { title, points })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            (figure3_svg(&panels)?, out)
        }
        Figure::Convergence { input, out } => {
            let rows: Vec<ConvergenceRow> =
                read_rows(input, &convergence_header(), "a `peff converge` table")?;
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
            (convergence_svg(&points)?, out)
        }
    };
    write_atomic(out, svg.as_bytes())?;
    println!("{}", out.display());
    Ok(())
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
