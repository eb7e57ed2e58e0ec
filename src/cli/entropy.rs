//! `peff entropy`: every entropy estimator, with bootstrap intervals, on a counts file
//! (docs/methods.md §5, §7; the estimators are in [`crate::info::estimators`]).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::export::{render, Format};

/// Flags of `peff entropy`.
#[derive(Debug, Args, Clone)]
pub struct EntropyArgs {
    /// Counts file (one count per line, or CSV `mask,count`), or `-` for stdin.
    pub file: PathBuf,
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
    samples: u64,
    distinct: usize,
}

/// `peff entropy`: every estimator on a counts file.
pub fn run(args: &EntropyArgs) -> anyhow::Result<()> {
    use crate::info::counts::parse_counts;
    use crate::info::estimators::{estimate_all, BootstrapConfig};
    if !(args.confidence > 0.0 && args.confidence < 1.0) {
        bail!("`--confidence` must be in (0, 1), got {}", args.confidence);
    }
    if args.resamples < 2 || args.resamples > 1_000_000 {
        bail!(
            "`--resamples` must be in [2, 1000000], got {}",
            args.resamples
        );
    }
    let bytes =
        crate::export::read_capped(&args.file, crate::export::MAX_COUNTS_BYTES, "counts file")?;
    let name = if args.file.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };
    let file = parse_counts(&bytes).with_context(|| format!("'{name}'"))?;
    let observed = file.counts.iter().filter(|&&c| c > 0).count();
    let alphabet = match args.alphabet {
        Some(a) if !(a.is_finite() && a >= observed as f64) => {
            bail!("`--alphabet` must be a finite number ≥ the {observed} observed symbols, got {a}")
        }
        Some(a) => a,
        None => {
            eprintln!("note: alphabet size A defaults to the {observed} observed symbols (set `--alphabet`)");
            observed as f64
        }
    };
    let cfg = BootstrapConfig {
        resamples: args.resamples,
        confidence: args.confidence,
        seed: args.seed,
    };
    let samples: u64 = file.counts.iter().sum();
    let rows: Vec<EntropyRow> = estimate_all(&file.counts, alphabet, &cfg)?
        .into_iter()
        .map(|e| EntropyRow {
            estimate: e.into(),
            samples,
            distinct: observed,
        })
        .collect();
    print!("{}", render(&rows, args.format)?);
    Ok(())
}
