//! `peff converge`: estimator convergence to the exact entropy as the number of sampled
//! datasets grows (the study itself is [`crate::experiments::toy::convergence`]).

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use super::args::ToyArgs;
use crate::experiments::toy::convergence::{convergence_rows, coverage_at};
use crate::experiments::toy::ToyExperiment;
use crate::export::{self, render};
use crate::record::{ResultFile, RunRecord, Threads};

/// Flags of `peff converge`. The shared flags it refuses are hidden from its `--help`.
#[derive(Debug, Args, Clone)]
#[command(mut_arg("shard", |a| a.hide(true)), mut_arg("checkpoint", |a| a.hide(true)), mut_arg("checkpoint_interval", |a| a.hide(true)), mut_arg("inits", |a| a.hide(true)), mut_arg("dump_init", |a| a.hide(true)))]
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

/// What a convergence study computes: the experiment, the nested sample sizes and their seed.
#[derive(Serialize)]
struct ConvergeConfig {
    experiment: ToyExperiment,
    samples: Vec<u64>,
    sample_seed: u64,
}

fn parse_sizes(list: &str) -> anyhow::Result<Vec<u64>> {
    let sizes = super::args::split_list("--samples", list)?
        .into_iter()
        .map(|s| {
            s.parse::<u64>()
                .ok()
                .filter(|&n| (1..=1_000_000_000).contains(&n))
                .with_context(|| {
                    format!(
                        "`--samples` values must be integers in [1, 1000000000], got {}",
                        super::errors::quote(s)
                    )
                })
        })
        .collect::<anyhow::Result<Vec<u64>>>()?;
    if sizes.windows(2).any(|w| w[0] >= w[1]) {
        bail!(
            "`--samples` must be strictly ascending, got {}",
            super::errors::quote(list)
        );
    }
    Ok(sizes)
}

/// Runs the convergence study, writes `<out>/<name>.csv/.json` and prints the table and the
/// coverage summary.
pub fn run(args: &ConvergeArgs) -> anyhow::Result<()> {
    let mut toy = args.toy.clone();
    if toy.k.is_none() && toy.sparsity.is_none() {
        toy.k = Some("16,12,9,5".to_string());
    }
    toy.refuse_unused(
        "converge",
        &[
            "--shard",
            "--checkpoint",
            "--checkpoint-interval",
            "--inits",
            "--dump-init",
        ],
    )?;
    let run = toy.validate()?;
    args.toy.note_rows(&run);
    let sizes = parse_sizes(&args.samples)?;
    let exp = run.experiment;
    let count = exp
        .space
        .num_multisets()
        .filter(|&c| c <= run.max_datasets as u128);
    if count.is_none() {
        bail!("the exact reference needs every dataset enumerated, more than `--max-datasets` {}; choose a smaller configuration", run.max_datasets);
    }
    export::check_out_dir(&toy.output.out)?;
    let stem = toy
        .output
        .name
        .clone()
        .unwrap_or_else(|| "convergence".to_string());
    let (csv_path, json_path) = (
        toy.output.out.join(format!("{stem}.csv")),
        toy.output.out.join(format!("{stem}.json")),
    );
    export::check_output_paths(&[
        ("the result file", &csv_path),
        ("the result file", &json_path),
    ])?;
    let record = RunRecord {
        command: "converge".to_string(),
        config: ConvergeConfig {
            experiment: exp,
            samples: sizes,
            sample_seed: args.seed,
        },
        shard: None,
    };
    export::check_overwrite(
        &json_path,
        &serde_json::to_value(&record)?,
        toy.output.force,
    )?;
    let (exp, sizes) = (&record.config.experiment, &record.config.samples);
    let pool = super::common::thread_pool(run.threads)?;
    let started = Instant::now();
    let rows = pool.install(|| convergence_rows(exp, sizes, args.seed))?;
    let largest = *sizes.last().expect("at least one size");
    let coverage = coverage_at(&rows, largest);
    let mut file = ResultFile::new(
        &record,
        Threads::Ran(run.threads),
        started.elapsed().as_secs_f64(),
        &rows,
    );
    file.summary = Some(serde_json::json!({ "coverage_at_largest_n": &coverage }));
    let csv_text = export::to_csv(&rows)?;
    file.csv_sha256 = Some(export::sha256_hex(csv_text.as_bytes()));
    print!("{}", render(&rows, toy.output.format)?);
    let run_value = serde_json::to_value(&record)?;
    export::write_result_files(
        &[
            (csv_path.clone(), csv_text.into_bytes()),
            (
                json_path.clone(),
                (serde_json::to_string_pretty(&file)? + "\n").into_bytes(),
            ),
        ],
        Some((&json_path, &run_value, toy.output.force)),
    )?;
    eprintln!("wrote {} and {}", csv_path.display(), json_path.display());
    if toy.output.format == export::Format::Table {
        println!(
            "\ncoverage of the exact value at N = {largest} (95 % bootstrap basic intervals):"
        );
        print!("{}", render(&coverage, export::Format::Table)?);
    }
    Ok(())
}
