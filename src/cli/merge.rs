//! `peff merge`: the partial results of `--shard` runs into the table of the unsharded run.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::exact::{finish, Destination};
use crate::experiments::toy::partial::{merge, Partial};
use crate::export::{self, Format};

/// Flags of `peff merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Partial-result files written by `--shard` runs.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Directory for result files.
    #[arg(long, allow_hyphen_values = true, default_value = "results")]
    pub out: PathBuf,
    /// Result file name stem (default: `<command>-<task>`); no path separators.
    #[arg(long, allow_hyphen_values = true, value_parser = super::args::parse_name)]
    pub name: Option<String>,
    /// Output format on stdout.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Overwrite result files that hold a result of another configuration.
    #[arg(long)]
    pub force: bool,
}

/// `peff merge`: shards of one run into the table the unsharded run produces.
pub fn run(args: &MergeArgs) -> anyhow::Result<()> {
    if super::memorize::is_shard_file(&args.files[0]) {
        return super::memorize::merge(args);
    }
    if args
        .files
        .first()
        .is_some_and(|f| super::noise_corr::is_shard_file(f))
    {
        return super::noise_corr::merge_files(
            &args.files,
            &args.out,
            args.name.as_deref(),
            args.format,
            args.force,
        );
    }
    let parts = args
        .files
        .iter()
        .map(|p| Partial::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (whole, tallies) = merge(&parts)?;
    export::check_out_dir(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", whole.command, whole.config.experiment.task));
    let dest = Destination {
        out: &args.out,
        stem,
        format: args.format,
    };
    let [csv_path, json_path] = dest.paths();
    export::check_output_paths(&[
        ("the result file", &csv_path),
        ("the result file", &json_path),
    ])?;
    let record = crate::record::RunRecord {
        shard: None,
        ..whole.clone()
    };
    export::check_overwrite(&json_path, &serde_json::to_value(&record)?, args.force)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = whole.config.for_init(whole.config.inits()[0]);
    finish(
        &dest,
        &whole.config,
        vec![(run, tallies)],
        threads,
        Instant::now(),
    )
}
