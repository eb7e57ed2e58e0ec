//! Discrete entropy estimators from a vector of counts (SPEC §5).
//!
//! Every estimator takes counts `n_1..n_K` of `K` bins (zero counts allowed and ignored) and
//! returns Shannon entropy in **bits**. All arithmetic is done in nats and converted once.
//!
//! ```text
//! N = Σ n_i      m = #{i : n_i > 0}      f_r = #{i : n_i = r}      p̂_i = n_i / N      0·ln 0 = 0
//! A = alphabet size (explicit, real, A ≥ m; shrink and nsb only)
//!
//! plugin          H_ML = −Σ p̂ ln p̂
//! miller_madow    H_ML + (m − 1)/(2N)
//! chao_shen       C = 1 − f1/N (f1 := N − 1 if f1 = N),  pa = C·p̂,  −Σ pa ln pa / (1 − (1 − pa)^N)
//! chao_wang_jost  Σ_{n_i<N} (n_i/N)(ψ(N) − ψ(n_i)) + (f1/N)(1 − B)^{1−N} [−ln B − Σ_{r=1}^{N−1} (1 − B)^r / r]
//!                 B = 2f2/((N−1)f1 + 2f2)  (f2 > 0),  2/((N−1)(f1−1) + 2)  (f2 = 0 < f1),  1 otherwise
//! grassberger     ln N − (1/N) Σ n_i G(n_i),  G(n) = ψ(n) + ½(−1)^n [ψ((n+1)/2) − ψ(n/2)]
//! jackknife       N·H_ML − ((N−1)/N) Σ_i n_i H_ML(n − e_i)
//! shrink          u = p̂,  λ = Σ_i u_i(1−u_i)/(N−1) / Σ_i (u_i − 1/A)²  clipped to [0, 1]
//!                 (sums over all A bins; λ = 1 for N ≤ 1),  H_ML(λ/A + (1 − λ)u) over all A bins
//! nsb             E[H | n] = ∫ E[H | n, β] P(n | β) ξ'(β) dβ / ∫ P(n | β) ξ'(β) dβ,
//!                 ξ(β) = ψ(Aβ + 1) − ψ(β + 1)
//! ```
//!
//! Uncertainty: [`estimate_all`] attaches a bootstrap **basic** interval
//! `(Ĥ − (q_{1−α/2} − H(p̂)), Ĥ − (q_{α/2} − H(p̂)))` to every estimator (for the plug-in,
//! `Ĥ = H(p̂)` and this is `(2Ĥ − q_{1−α/2}, 2Ĥ − q_{α/2})`), from seeded multinomial resamples
//! of `N` drawn from `p̂`; NSB also reports its posterior standard deviation.
//!
//! Conventions shared by all estimators:
//! - zero counts are ignored, and every result depends only on the multiset of non-zero counts
//!   (the counts are reduced to their *spectrum* `{(r, f_r)}` first), so permuting the counts or
//!   inserting zeros gives bit-identical results;
//! - empty or all-zero input is [`EstimateError::EmptyInput`];
//! - a single observed symbol gives 0 for every estimator except `grassberger`, whose
//!   `ln N − G(N)` is not 0 (positive for odd `N`, negative for even `N`: −0.053 bits at
//!   `N = 2`), and `shrink`/`nsb` with `A > 1`, which shrink toward the alphabet.
//!
//! Numerics: the counts are grouped by value, so every estimator costs O(number of distinct
//! counts) after an O(K log K) sort, and NSB's `A − m` empty bins are one closed-form group
//! (`A` may be `1e300`). Where a textbook form cancels, an equivalent one is evaluated instead:
//! `ln p̂` of a dominant bin as `ln1p(−(N − n)/N)`, `ψ(N) − ψ(n)` as a harmonic sum or
//! `ln1p` series, the Chao–Wang–Jost bracket as a convergent series, the jackknife through
//! `H − H_{−i}`, and NSB's posterior variance as a sum of non-negative terms. Against 40-digit
//! mpmath references the results agree to ~1e-15 bits in absolute terms.
//!
//! Files: one per estimator (`plugin.rs`, `miller_madow.rs`, `chao_shen.rs`, `chao_wang_jost.rs`,
//! `grassberger.rs`, `jackknife.rs`, `shrink.rs`, `nsb.rs`, each with its formula, references,
//! edge cases and reference-value tests), and the shared pieces: `spectrum.rs` (counts of
//! counts), `special.rs` (special functions), `nsb_quadrature.rs` (NSB's integral over `ln β`),
//! `bootstrap.rs` (resampling and intervals).
//!
//! # Example
//! ```
//! use peff::info::estimators::{estimate_all, miller_madow, nsb, plugin, BootstrapConfig};
//! let counts = [10, 5, 3, 1, 1];
//! assert!((plugin(&counts)? - 1.842738).abs() < 1e-6);
//! assert!(miller_madow(&counts)? > plugin(&counts)?);
//! let bayes = nsb(&counts, 20.0)?; // alphabet of 20 possible symbols
//! assert!(bayes.posterior_sd_bits > 0.0);
//! let rows = estimate_all(&counts, 20.0, &BootstrapConfig::default())?;
//! assert_eq!(rows[0].estimator.name(), "plugin");
//! # Ok::<(), peff::info::estimators::EstimateError>(())
//! ```
//!
//! ## References
//! - G. A. Miller (1955), "Note on the bias of information estimates".
//! - S. Zahl (1977), "Jackknifing an index of diversity", Ecology 58.
//! - D. H. Wolpert and D. R. Wolf (1995), "Estimating functions of probability distributions from a
//!   finite set of samples", Phys. Rev. E 52.
//! - I. Nemenman, F. Shafee and W. Bialek (2002), "Entropy and inference, revisited", NIPS 14.
//! - A. Chao and T.-J. Shen (2003), "Nonparametric estimation of Shannon's index of diversity when
//!   there are unseen species in sample", Environ. Ecol. Stat. 10.
//! - P. Grassberger (2003), "Entropy estimates from insufficient samplings", arXiv:physics/0307138.
//! - J. Hausser and K. Strimmer (2009), "Entropy inference and the James–Stein estimator", JMLR 10.
//! - A. Chao, Y. T. Wang and L. Jost (2013), "Entropy and the species accumulation curve",
//!   Methods Ecol. Evol. 4.

mod bootstrap;
mod chao_shen;
mod chao_wang_jost;
mod grassberger;
mod jackknife;
mod miller_madow;
mod nsb;
mod nsb_quadrature;
mod plugin;
#[cfg(test)]
mod reference;
mod shrink;
mod special;
mod spectrum;

use std::f64::consts::LN_2;
use std::fmt;

use serde::Serialize;

pub use bootstrap::{
    bounded_interval, estimate_all, estimate_all_until, multinomial_sample, BootstrapConfig,
    EstimateWithInterval, MAX_BOOTSTRAP_TOTAL,
};
pub use chao_shen::chao_shen;
pub use chao_wang_jost::chao_wang_jost;
pub use grassberger::grassberger;
pub use jackknife::jackknife;
pub use miller_madow::miller_madow;
pub use nsb::{nsb, NsbEstimate};
pub use plugin::plugin;
pub use shrink::{shrink, Shrinkage};

use chao_shen::chao_shen_nats;
use chao_wang_jost::chao_wang_jost_nats;
use grassberger::grassberger_nats;
use jackknife::jackknife_nats;
use miller_madow::miller_madow_nats;
use nsb_quadrature::nsb_nats;
use plugin::plugin_nats;
use shrink::shrink_nats;
use spectrum::{check_alphabet, Spectrum};

/// The entropy estimators of SPEC §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Maximum-likelihood (plug-in) estimate, see [`plugin`].
    Plugin,
    /// Miller–Madow bias correction, see [`miller_madow`].
    MillerMadow,
    /// Chao–Shen coverage-adjusted Horvitz–Thompson estimate, see [`chao_shen`].
    ChaoShen,
    /// Chao–Wang–Jost estimate, see [`chao_wang_jost`].
    ChaoWangJost,
    /// Grassberger 2003 eq. 35, see [`grassberger`].
    Grassberger,
    /// Zahl's leave-one-out jackknife, see [`jackknife`].
    Jackknife,
    /// Hausser–Strimmer James–Stein shrinkage toward uniform over `A`, see [`shrink`].
    Shrink,
    /// Nemenman–Shafee–Bialek Bayesian estimate over alphabet `A`, see [`nsb`].
    Nsb,
}

impl Estimator {
    /// Every estimator, in the order [`estimate_all`] reports them.
    pub const ALL: [Estimator; 8] = [
        Estimator::Plugin,
        Estimator::MillerMadow,
        Estimator::ChaoShen,
        Estimator::ChaoWangJost,
        Estimator::Grassberger,
        Estimator::Jackknife,
        Estimator::Shrink,
        Estimator::Nsb,
    ];

    /// The snake_case name used on the command line and in result tables
    /// (`plugin`, `miller_madow`, `chao_shen`, `chao_wang_jost`, `grassberger`, `jackknife`,
    /// `shrink`, `nsb`); identical to the serde name.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Plugin => "plugin",
            Estimator::MillerMadow => "miller_madow",
            Estimator::ChaoShen => "chao_shen",
            Estimator::ChaoWangJost => "chao_wang_jost",
            Estimator::Grassberger => "grassberger",
            Estimator::Jackknife => "jackknife",
            Estimator::Shrink => "shrink",
            Estimator::Nsb => "nsb",
        }
    }

    /// Inverse of [`Estimator::name`]. Surrounding whitespace is ignored and `-` is accepted for
    /// `_` (`miller-madow`); anything else returns `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.trim().replace('-', "_");
        Estimator::ALL.into_iter().find(|e| e.name() == wanted)
    }
}

impl fmt::Display for Estimator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an estimate could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EstimateError {
    /// No observations: the counts are empty or all zero.
    #[error("no observations: the counts are empty or all zero")]
    EmptyInput,
    /// The alphabet is smaller than the number of observed (non-zero) bins.
    #[error("alphabet size {alphabet} is smaller than the {observed} observed (non-zero) bins")]
    AlphabetTooSmall {
        /// The alphabet size given.
        alphabet: f64,
        /// The number of non-zero bins.
        observed: usize,
    },
    /// The alphabet size is NaN, infinite or below 1.
    #[error("alphabet size must be a finite number >= 1, got {alphabet}")]
    InvalidAlphabet {
        /// The alphabet size given.
        alphabet: f64,
    },
    /// The total count `N` does not fit in a `u64`.
    #[error("the total count overflows u64")]
    CountOverflow,
    /// The total count is above what the bootstrap's binomial draws support exactly
    /// ([`MAX_BOOTSTRAP_TOTAL`] = 2^53, the largest integer every `f64` holds).
    #[error("the total count {total} is above the bootstrap's limit of 2^53 = 9007199254740992 observations")]
    TotalTooLarge {
        /// The total count `N`.
        total: u64,
    },
    /// The bootstrap needs at least two resamples to form quantiles.
    #[error("the bootstrap needs at least 2 resamples, got {resamples}")]
    TooFewResamples {
        /// The number of resamples asked for.
        resamples: usize,
    },
    /// The confidence level is not strictly between 0 and 1.
    #[error("the confidence level must be in (0, 1), got {confidence}")]
    InvalidConfidence {
        /// The confidence level asked for.
        confidence: f64,
    },
}

/// One estimator's point value in bits: dispatches to [`plugin`], [`miller_madow`],
/// [`chao_shen`], [`chao_wang_jost`], [`grassberger`], [`jackknife`], [`shrink`] (its `bits`) or
/// [`nsb`] (its posterior mean), whose docs give the formula and reference.
///
/// `alphabet` is used (and validated) by [`Estimator::Shrink`] and [`Estimator::Nsb`] only; the
/// other estimators ignore it. Edge cases and errors as for the individual functions: empty or
/// all-zero counts are [`EstimateError::EmptyInput`]; a single symbol gives 0 except for
/// Grassberger (and shrink/NSB with `A > 1`).
pub fn estimate(est: Estimator, counts: &[u64], alphabet: f64) -> Result<f64, EstimateError> {
    let s = Spectrum::from_counts(counts)?;
    if matches!(est, Estimator::Shrink | Estimator::Nsb) {
        check_alphabet(alphabet, s.observed)?;
    }
    Ok(point_nats(est, &s, alphabet) / LN_2)
}

fn point_nats(est: Estimator, s: &Spectrum, alphabet: f64) -> f64 {
    match est {
        Estimator::Plugin => plugin_nats(s),
        Estimator::MillerMadow => miller_madow_nats(s),
        Estimator::ChaoShen => chao_shen_nats(s),
        Estimator::ChaoWangJost => chao_wang_jost_nats(s),
        Estimator::Grassberger => grassberger_nats(s),
        Estimator::Jackknife => jackknife_nats(s),
        Estimator::Shrink => shrink_nats(s, alphabet).0,
        Estimator::Nsb => nsb_nats(s, alphabet, None, false).mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reference::close;

    #[test]
    fn spec_known_values() {
        // SPEC §5 known values (bits), to 1e-6.
        let c = [10, 5, 3, 1, 1];
        assert!(close(plugin(&c).unwrap(), 1.842738, 1e-6));
        assert!(close(miller_madow(&c).unwrap(), 1.987007, 1e-6));
        assert!(close(chao_shen(&c).unwrap(), 2.087338, 1e-6));
        let c = [50, 30, 20];
        assert!(close(plugin(&c).unwrap(), 1.485475, 1e-6));
        assert!(close(miller_madow(&c).unwrap(), 1.499902, 1e-6));
        assert!(close(grassberger(&[3, 3, 3, 3]).unwrap(), 2.532319, 1e-6));
    }

    #[test]
    fn errors() {
        assert_eq!(plugin(&[]), Err(EstimateError::EmptyInput));
        assert_eq!(jackknife(&[0, 0]), Err(EstimateError::EmptyInput));
        assert_eq!(plugin(&[u64::MAX, 1]), Err(EstimateError::CountOverflow));
        assert_eq!(
            shrink(&[1, 2, 3], 2.0),
            Err(EstimateError::AlphabetTooSmall {
                alphabet: 2.0,
                observed: 3
            })
        );
        assert!(matches!(
            nsb(&[1], f64::NAN),
            Err(EstimateError::InvalidAlphabet { .. })
        ));
        assert!(matches!(
            nsb(&[1], 0.5),
            Err(EstimateError::InvalidAlphabet { .. })
        ));
        let bad = BootstrapConfig {
            resamples: 1,
            ..BootstrapConfig::default()
        };
        assert_eq!(
            estimate_all(&[1, 2], 2.0, &bad).unwrap_err(),
            EstimateError::TooFewResamples { resamples: 1 }
        );
        let bad = BootstrapConfig {
            confidence: 1.0,
            ..BootstrapConfig::default()
        };
        assert!(matches!(
            estimate_all(&[1, 2], 2.0, &bad),
            Err(EstimateError::InvalidConfidence { .. })
        ));
        // messages are one line
        for e in [
            EstimateError::EmptyInput,
            EstimateError::CountOverflow,
            EstimateError::InvalidAlphabet { alphabet: -1.0 },
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn names_round_trip() {
        for e in Estimator::ALL {
            assert_eq!(Estimator::from_name(e.name()), Some(e));
            assert_eq!(e.to_string(), e.name());
        }
        assert_eq!(
            Estimator::from_name("miller-madow"),
            Some(Estimator::MillerMadow)
        );
        assert_eq!(Estimator::from_name("ml"), None);
    }

    #[test]
    fn single_letter_alphabet() {
        let r = nsb(&[7], 1.0).unwrap();
        assert!(r.bits.abs() < 1e-300 && r.posterior_sd_bits.abs() < 1e-300 && r.bounded);
        assert!(shrink(&[7], 1.0).unwrap().bits.abs() < 1e-300);
    }
}
