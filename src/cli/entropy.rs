//! `peff entropy`: every entropy estimator, with bootstrap intervals (and NSB's posterior
//! standard deviation), on a counts file or on the distinct rows of a `.npy` file of masks
//! (docs/methods.md §5, §7; the estimators are in [`crate::info::estimators`], the mask counts
//! in [`crate::info::masks`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Args};
use serde::Serialize;

use crate::export::{render, Format};

/// Flags of `peff entropy`: a counts file or `--masks`, exactly one.
#[derive(Debug, Args, Clone)]
#[command(group(ArgGroup::new("input").required(true).args(["file", "masks"])))]
pub struct EntropyArgs {
    /// Counts file (one count per line, or CSV `mask,count`), or `-` for stdin.
    pub file: Option<PathBuf>,
    /// NumPy `.npy` file of N masks × p entries (dtype bool or uint8, C order, entries 0 or 1)
    /// instead of a counts file: its distinct rows are counted.
    #[arg(long, allow_hyphen_values = true)]
    pub masks: Option<PathBuf>,
    /// Alphabet size A (number of possible symbols) for shrink and NSB (default: the number of
    /// observed symbols m).
    #[arg(long, allow_hyphen_values = true)]
    pub alphabet: Option<f64>,
    /// Bootstrap resamples.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1000)]
    pub resamples: usize,
    /// Confidence level of the intervals, in (0, 1).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.95)]
    pub confidence: f64,
    /// Seed of the bootstrap.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, allow_hyphen_values = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One row of `peff entropy` (docs/methods.md §7).
#[derive(Serialize)]
struct EntropyRow {
    #[serde(flatten)]
    estimate: crate::info::EstimateRow,
    /// NSB's posterior standard deviation, bits (empty for the other estimators).
    sd_bits: Option<f64>,
    samples: u64,
    distinct: usize,
}

/// The counts of `--masks FILE` (distinct rows of the `.npy` file), or of the counts file.
fn read_counts(args: &EntropyArgs) -> anyhow::Result<Vec<u64>> {
    use crate::info::masks::{parse_npy_masks, MAX_NPY_BYTES};
    use crate::input::{read_capped, MAX_COUNTS_BYTES};
    if let Some(path) = &args.masks {
        let bytes = read_capped(path, MAX_NPY_BYTES, "`--masks`")?;
        let counts = parse_npy_masks(&bytes)
            .and_then(|m| m.counts())
            .with_context(|| format!("`--masks` '{}'", path.display()))?;
        return Ok(counts);
    }
    let file = args
        .file
        .as_deref()
        .context("give a counts file or `--masks FILE.npy`")?;
    let bytes = read_capped(file, MAX_COUNTS_BYTES, "counts file")?;
    let name = if file.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        file.display().to_string()
    };
    let file = crate::info::counts::parse_counts(&bytes).with_context(|| format!("'{name}'"))?;
    Ok(file.counts)
}

/// `peff entropy`: every estimator on a counts file or a `.npy` file of masks.
pub fn run(args: &EntropyArgs) -> anyhow::Result<()> {
    use crate::info::estimators::estimate_all;
    let cfg = crate::settings::bootstrap(args.confidence, args.resamples as i128, args.seed)?;
    let counts = read_counts(args)?;
    let observed = counts.iter().filter(|&&c| c > 0).count();
    if args.alphabet.is_none() {
        eprintln!(
            "note: alphabet size A defaults to the {observed} observed symbols (set `--alphabet`)"
        );
    }
    let alphabet = crate::settings::alphabet_size(args.alphabet, observed)?;
    let samples: u64 = counts.iter().sum();
    let rows: Vec<EntropyRow> = estimate_all(&counts, alphabet, &cfg)?
        .into_iter()
        .map(|e| EntropyRow {
            sd_bits: e.posterior_sd_bits,
            estimate: e.into(),
            samples,
            distinct: observed,
        })
        .collect();
    print!("{}", render(&rows, args.format)?);
    Ok(())
}
