//! `peff converge`: how each entropy estimator converges to the exact mask entropy.
//!
//! Samples the first `N` datasets of one stream for increasing `N` (nested samples, so each
//! step adds datasets to the previous tally), estimates `H(m | init)` with every estimator and
//! its bootstrap interval, and sets each estimate beside the exact value from enumeration:
//!
//! ```text
//! error = Ĥ_N − H_exact,   covered = [ci_low ≤ H_exact ≤ ci_high]
//! ```

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::cli::ToyArgs;
use crate::experiment::{enumerate_datasets, sample_datasets};
use crate::export::{self, render, write_atomic};
use crate::info::estimate_rows;
use crate::info::tally::MaskTally;
use crate::report::{exact_rows, ConvergenceRow};

/// Flags of `peff converge`.
#[derive(Debug, Args, Clone)]
pub struct ConvergeArgs {
    /// Shared flags (`--k` defaults to 16,12,9,5 here: k that IMP's schedule visits on p = 21).
    #[command(flatten)]
    pub toy: ToyArgs,
    /// Comma-separated sample sizes N, ascending.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "250,500,1000,2000,4000,8000,16000,32000"
    )]
    pub samples: String,
    /// Seed of the dataset streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
}

/// Share of (method, k) rows whose interval covers the exact value, per estimator, at the
/// largest `N`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// Estimator name.
    pub estimator: String,
    /// Rows covered.
    pub covered: usize,
    /// Rows in all.
    pub rows: usize,
    /// Mean absolute error at the largest N, bits.
    pub mean_abs_error_bits: f64,
}

#[derive(Serialize)]
struct ConvergeRecord<'a> {
    peff_version: &'static str,
    git_commit: Option<&'static str>,
    command: &'static str,
    config: &'a crate::experiment::ToyExperiment,
    samples: &'a [u64],
    sample_seed: u64,
    threads: usize,
    wall_seconds: f64,
    coverage_at_largest_n: &'a [Coverage],
    rows: &'a [ConvergenceRow],
}

fn parse_sizes(list: &str) -> anyhow::Result<Vec<u64>> {
    let sizes = list
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| (1..=1_000_000_000).contains(&n))
                .with_context(|| {
                    format!(
                        "`--samples` values must be integers in [1, 1000000000], got '{}'",
                        s.trim()
                    )
                })
        })
        .collect::<anyhow::Result<Vec<u64>>>()?;
    if sizes.windows(2).any(|w| w[0] >= w[1]) {
        bail!("`--samples` must be strictly ascending, got {list}");
    }
    Ok(sizes)
}

/// Runs the convergence study, writes `<out>/<name>.csv/.json` and prints the table and the
/// coverage summary.
pub fn converge(args: &ConvergeArgs) -> anyhow::Result<()> {
    let mut toy = args.toy.clone();
    if toy.k.is_none() && toy.sparsity.is_none() {
        toy.k = Some("16,12,9,5".to_string());
    }
    let run = toy.validate()?;
    let sizes = parse_sizes(&args.samples)?;
    let exp = run.experiment;
    let count = exp
        .space
        .num_multisets()
        .filter(|&c| c <= toy.max_datasets as u128);
    if count.is_none() {
        bail!("the exact reference needs every dataset enumerated, more than `--max-datasets` {}; choose a smaller configuration", toy.max_datasets);
    }
    export::check_out_dir(&toy.out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(run.threads)
        .build()?;
    let started = Instant::now();
    let exact = pool.install(|| exp.tally(enumerate_datasets(exp.space), false, &|_| {}));
    let exact_bits: Vec<f64> = exact_rows(&exp, &exact)
        .iter()
        .map(|r| r.entropy_bits)
        .collect();
    let mut running = vec![MaskTally::default(); exp.rows().len()];
    let mut rows = Vec::new();
    let mut previous = 0;
    for &n in &sizes {
        running = pool
            .install(|| {
                exp.tally_from(
                    sample_datasets(exp.space, args.seed, previous..n),
                    true,
                    running,
                    &|_| {},
                    &mut |_, _| true,
                )
            })
            .0;
        previous = n;
        let keys = exp.rows();
        let estimates = pool.install(|| {
            use rayon::prelude::*;
            keys.par_iter()
                .zip(&running)
                // A row whose every sampled run diverged has nothing to estimate.
                .map(|(key, tally)| match tally.valid_weight() {
                    0 => Ok(Vec::new()),
                    _ => estimate_rows(tally, exp.num_params(), key.k),
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        for ((key, row_estimates), &exact) in keys.iter().zip(estimates).zip(&exact_bits) {
            for e in row_estimates {
                rows.push(ConvergenceRow {
                    task: exp.task.clone(),
                    method: key.method.name().to_string(),
                    k: key.k,
                    samples: n,
                    covered: e.ci_low_bits <= exact && exact <= e.ci_high_bits,
                    error_bits: e.estimate_bits - exact,
                    estimator: e.estimator,
                    estimate_bits: e.estimate_bits,
                    ci_low_bits: e.ci_low_bits,
                    ci_high_bits: e.ci_high_bits,
                    exact_bits: exact,
                });
            }
        }
    }
    let largest = *sizes.last().expect("at least one size");
    let coverage = coverage_at(&rows, largest);
    let stem = toy
        .name
        .clone()
        .unwrap_or_else(|| "convergence".to_string());
    let record = ConvergeRecord {
        peff_version: env!("CARGO_PKG_VERSION"),
        git_commit: export::git_commit(),
        command: "converge",
        config: &exp,
        samples: &sizes,
        sample_seed: args.seed,
        threads: run.threads,
        wall_seconds: started.elapsed().as_secs_f64(),
        coverage_at_largest_n: &coverage,
        rows: &rows,
    };
    write_atomic(
        &toy.out.join(format!("{stem}.csv")),
        export::to_csv(&rows)?.as_bytes(),
    )?;
    write_atomic(
        &toy.out.join(format!("{stem}.json")),
        (serde_json::to_string_pretty(&record)? + "\n").as_bytes(),
    )?;
    print!("{}", render(&rows, toy.format)?);
    if toy.format == export::Format::Table {
        println!(
            "\ncoverage of the exact value at N = {largest} (95 % bootstrap basic intervals):"
        );
        print!("{}", render(&coverage, export::Format::Table)?);
    }
    Ok(())
}

/// Coverage per estimator at sample size `n`, estimators in first-seen order.
pub fn coverage_at(rows: &[ConvergenceRow], n: u64) -> Vec<Coverage> {
    let mut out: Vec<Coverage> = Vec::new();
    for row in rows.iter().filter(|r| r.samples == n) {
        let idx = match out.iter().position(|c| c.estimator == row.estimator) {
            Some(i) => i,
            None => {
                out.push(Coverage {
                    estimator: row.estimator.clone(),
                    covered: 0,
                    rows: 0,
                    mean_abs_error_bits: 0.0,
                });
                out.len() - 1
            }
        };
        let c = &mut out[idx];
        c.rows += 1;
        c.covered += usize::from(row.covered);
        c.mean_abs_error_bits += row.error_bits.abs();
    }
    for c in &mut out {
        c.mean_abs_error_bits /= c.rows.max(1) as f64;
    }
    out
}
