//! The rules every user-given setting is validated by, in one place for the command line and
//! the Python package: comma-separated lists, counts in a range, the worker-thread count, the
//! entropy estimators' bootstrap and alphabet, and the choice of pruning methods and their
//! settings. Every refusal is one line that names the
//! setting as its flag (`--methods`; Python's keyword arguments are the flags with `-` → `_`)
//! and [quotes](quote) the value.

use anyhow::{bail, Context};

use crate::info::estimators::BootstrapConfig;
use crate::model::Loss;
use crate::prune::{Grasp, Imp, Method};

/// Longest excerpt of user input a message quotes.
pub const QUOTE_CHARS: usize = 60;

/// `'text'`, or its first [`QUOTE_CHARS`] characters followed by `…' (N bytes)` when longer;
/// control characters are escaped.
pub fn quote(text: &str) -> String {
    let escaped = escape_control(text);
    if escaped.chars().count() <= QUOTE_CHARS {
        format!("'{escaped}'")
    } else {
        let head: String = escaped.chars().take(QUOTE_CHARS).collect();
        format!("'{head}…' ({} bytes)", text.len())
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`), the rest as it is.
pub fn escape_control(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Vec<char> {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `value` as a count in `[1, max]`, or "`flag` must be in [1, max], got value".
pub fn count_in(flag: &str, value: i64, max: i64) -> anyhow::Result<usize> {
    if value < 1 || value > max {
        bail!("`{flag}` must be in [1, {max}], got {value}");
    }
    Ok(value as usize)
}

/// Largest `--threads`.
pub const MAX_THREADS: i64 = 1024;

/// The one thread-count check: `0..=MAX_THREADS`, 0 resolved to the available cores.
pub fn worker_threads(threads: i64) -> anyhow::Result<usize> {
    if !(0..=MAX_THREADS).contains(&threads) {
        bail!("`--threads` must be in [0, {MAX_THREADS}] (0: all cores), got {threads}");
    }
    Ok(match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n as usize,
    })
}

/// Most bootstrap resamples (`--resamples`).
pub const MAX_RESAMPLES: i128 = 1_000_000;

/// The bootstrap of `peff entropy` and `peff.entropy`, checked in this order: the confidence
/// level in (0, 1), then the resamples in `[2, MAX_RESAMPLES]`.
pub fn bootstrap(confidence: f64, resamples: i128, seed: u64) -> anyhow::Result<BootstrapConfig> {
    if !(confidence > 0.0 && confidence < 1.0) {
        bail!("`--confidence` must be in (0, 1), got {confidence}");
    }
    if !(2..=MAX_RESAMPLES).contains(&resamples) {
        bail!("`--resamples` must be in [2, {MAX_RESAMPLES}], got {resamples}");
    }
    Ok(BootstrapConfig {
        resamples: resamples as usize,
        confidence,
        seed,
    })
}

/// The alphabet size `A` of the shrinkage and NSB estimators: `alphabet`, which must be finite
/// and at least the `observed` symbols, or `observed` when none is given.
pub fn alphabet_size(alphabet: Option<f64>, observed: usize) -> anyhow::Result<f64> {
    match alphabet {
        Some(a) if !(a.is_finite() && a >= observed as f64) => {
            bail!("`--alphabet` must be a finite number ≥ the {observed} observed symbols, got {a}")
        }
        Some(a) => Ok(a),
        None => Ok(observed as f64),
    }
}

/// The one rule for every comma-separated list flag (`--k`, `--sparsity`, `--methods`,
/// `converge --samples`, and the lists of new subcommands): items are trimmed; an empty item
/// (`5,,6`, a trailing comma) and a repeated item are errors naming the flag; the list must
/// have at least one item. Callers parse the items and may impose an order.
pub fn split_list<'a>(flag: &str, list: &'a str) -> anyhow::Result<Vec<&'a str>> {
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if items.iter().all(|s| s.is_empty()) {
        bail!("`{flag}` needs at least one value");
    }
    if items.iter().any(|s| s.is_empty()) {
        bail!(
            "`{flag}` has an empty item in {}; separate values with single commas",
            quote(list)
        );
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            bail!("`{flag}` lists {} twice; give each value once", quote(item));
        }
    }
    Ok(items)
}

/// Parses `--methods`: a comma-separated list of names (see [`split_list`]), or `all` alone.
pub fn parse_methods(list: &str) -> anyhow::Result<Vec<Method>> {
    let names = split_list("--methods", list)?;
    if names == ["all"] {
        return Ok(Method::ALL.to_vec());
    }
    if names.contains(&"all") {
        bail!("`--methods`: `all` already means every method; give `all` alone or list methods");
    }
    let mut methods = Vec::new();
    for name in names {
        let m = Method::from_name(name).with_context(|| {
            format!(
                "`--methods`: unknown method {} (valid: {}, or all alone)",
                quote(name),
                Method::names()
            )
        })?;
        methods.push(m);
    }
    methods.sort();
    Ok(methods)
}

/// Which pruning methods run, and the settings of those that have any, as given
/// (`--methods --imp-rate --synflow-rounds --grasp-temperature`).
#[derive(Clone, Debug, PartialEq)]
pub struct PruneChoice {
    /// Comma-separated methods, or `all`.
    pub methods: String,
    /// IMP's per-level rate.
    pub imp_rate: f64,
    /// SynFlow rounds.
    pub synflow_rounds: i64,
    /// GraSP's output temperature (`None`: the loss's default).
    pub grasp_temperature: Option<f64>,
}

impl Default for PruneChoice {
    fn default() -> Self {
        PruneChoice {
            methods: "all".to_string(),
            imp_rate: Imp::DEFAULT_RATE,
            synflow_rounds: DEFAULT_SYNFLOW_ROUNDS,
            grasp_temperature: None,
        }
    }
}

/// Default of `--synflow-rounds`.
pub const DEFAULT_SYNFLOW_ROUNDS: i64 = 100;

/// A validated [`PruneChoice`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidPrune {
    /// The methods, in table order.
    pub methods: Vec<Method>,
    /// IMP's per-level rate, in (0, 1).
    pub imp_rate: f64,
    /// SynFlow rounds, in [1, 100000].
    pub synflow_rounds: usize,
    /// GraSP's output temperature, finite and > 0.
    pub grasp_temperature: f64,
}

impl PruneChoice {
    /// Validates the choice; `cross_entropy` picks the GraSP temperature's default.
    pub fn validate(&self, cross_entropy: bool) -> anyhow::Result<ValidPrune> {
        if !(self.imp_rate > 0.0 && self.imp_rate < 1.0) {
            bail!("`--imp-rate` must be in (0, 1), got {}", self.imp_rate);
        }
        let loss = if cross_entropy {
            Loss::CrossEntropy
        } else {
            Loss::Mse
        };
        let grasp_temperature = self
            .grasp_temperature
            .unwrap_or(Grasp::default_temperature(loss));
        if !(grasp_temperature.is_finite() && grasp_temperature > 0.0) {
            bail!("`--grasp-temperature` must be a finite number > 0, got {grasp_temperature}");
        }
        Ok(ValidPrune {
            synflow_rounds: count_in("--synflow-rounds", self.synflow_rounds, 100_000)?,
            methods: parse_methods(&self.methods)?,
            imp_rate: self.imp_rate,
            grasp_temperature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bootstrap's bounds are inclusive at 2 and `MAX_RESAMPLES`, the confidence level's
    /// exclusive at 0 and 1, and the confidence is checked first (as `peff entropy` always did).
    #[test]
    fn bootstrap_bounds_and_order() {
        let ok = bootstrap(0.95, 2, 7).unwrap();
        assert_eq!(
            (ok.resamples, ok.confidence.to_bits(), ok.seed),
            (2, 0.95f64.to_bits(), 7)
        );
        assert_eq!(
            bootstrap(0.5, MAX_RESAMPLES, 0).unwrap().resamples,
            1_000_000
        );
        for (confidence, resamples, want) in [
            (0.95, 1, "`--resamples` must be in [2, 1000000], got 1"),
            (0.95, MAX_RESAMPLES + 1, "got 1000001"),
            (0.95, -3, "got -3"),
            (1.0, 1000, "`--confidence` must be in (0, 1), got 1"),
            (0.0, 1000, "got 0"),
            (f64::NAN, 1000, "got NaN"),
            (1.5, 1, "`--confidence`"),
        ] {
            let err = bootstrap(confidence, resamples, 0).unwrap_err().to_string();
            assert!(err.contains(want), "{confidence} {resamples}: {err}");
        }
    }

    /// The alphabet defaults to the observed symbols and may not be smaller or non-finite.
    #[test]
    fn alphabet_at_least_the_observed_symbols() {
        let bits = |a: Option<f64>| alphabet_size(a, 5).unwrap().to_bits();
        assert_eq!(bits(None), 5f64.to_bits());
        assert_eq!(bits(Some(5.0)), 5f64.to_bits());
        assert_eq!(bits(Some(1e6)), 1e6f64.to_bits());
        for bad in [4.9, f64::INFINITY, f64::NAN, -1.0] {
            let err = alphabet_size(Some(bad), 5).unwrap_err().to_string();
            assert!(
                err.contains("`--alphabet` must be a finite number ≥ the 5 observed symbols"),
                "{bad}: {err}"
            );
        }
    }
}
