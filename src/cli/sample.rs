//! `peff sample`: a sampled estimate of the mask entropy from `N` random datasets, through the
//! toy driver ([`super::toy`]).

use clap::Args;

use super::args::ToyArgs;

/// Flags of `peff sample`. The shared flags it refuses are hidden from its `--help`.
#[derive(Debug, Args, Clone)]
#[command(mut_arg("max_datasets", |a| a.hide(true)), mut_arg("inits", |a| a.hide(true)))]
pub struct SampleArgs {
    /// Shared flags.
    #[command(flatten)]
    pub toy: ToyArgs,
    /// Number of sampled datasets N.
    #[arg(long, allow_hyphen_values = true, default_value_t = crate::experiments::toy::settings::DEFAULT_SAMPLES)]
    pub samples: i64,
    /// Seed of the dataset streams.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
}

/// `peff sample`.
pub fn run(args: &SampleArgs) -> anyhow::Result<()> {
    args.toy
        .refuse_unused("sample", &["--max-datasets", "--inits"])?;
    let sampling = crate::experiments::toy::settings::sampling(args.samples, args.seed)?;
    super::toy::run_toy(&args.toy, Some(sampling))
}
