//! Chao–Wang–Jost entropy.
//!
//! ```text
//! H_CWJ = Σ_{i: n_i < N} (n_i/N)(ψ(N) − ψ(n_i))
//!       + (f1/N)(1 − B)^{1−N} [−ln B − Σ_{r=1}^{N−1} (1 − B)^r / r]
//! B = 2f2/((N−1)f1 + 2f2)  (f2 > 0),  2/((N−1)(f1−1) + 2)  (f2 = 0 < f1),  1 otherwise
//! ```
//!
//! The bracket is evaluated as the convergent series `Σ_{k≥1} (1 − B)^k/(k + N − 1)`
//! ([`cwj_tail`]), directly or by Euler–Maclaurin with the exponential integral for tiny `B`,
//! since the literal form cancels once `(1 − B)^N` is small; `ψ(N) − ψ(n)` is a harmonic sum or
//! `ln1p` series ([`super::special::digamma_difference`]). Edge cases: a single symbol gives 0;
//! all singletons are finite.
//!
//! ## References
//! - A. Chao, Y. T. Wang and L. Jost (2013), "Entropy and the species accumulation curve",
//!   Methods Ecol. Evol. 4, eq. 7.

use std::f64::consts::LN_2;

use super::special::{digamma_difference, exp1_scaled};
use super::spectrum::Spectrum;
use super::EstimateError;

/// `T(B, N) = (1 − B)^{1−N} [−ln B − Σ_{r=1}^{N−1} (1 − B)^r / r] = Σ_{k≥1} (1 − B)^k / (k + N − 1)`.
///
/// The literal form cancels catastrophically once `(1 − B)^N` is small, so the series is summed
/// directly when it converges within ~1e5 terms (`B ≥ 4e-4`); otherwise the first terms are summed
/// and the rest is done by Euler–Maclaurin with the exponential integral (O(1) for any `N`).
pub(super) fn cwj_tail(b: f64, n: f64) -> f64 {
    if b >= 1.0 {
        return 0.0;
    }
    let x = 1.0 - b;
    let c = n - 1.0;
    if b >= 4e-4 {
        let mut sum = 0.0;
        let mut xk = x;
        let mut k = 1.0;
        loop {
            let term = xk / (k + c);
            sum += term;
            if term <= 1e-17 * sum || xk == 0.0 {
                return sum;
            }
            xk *= x;
            k += 1.0;
        }
    }
    // f(k) = e^{−αk}/(k + c), α = −ln(1 − B): smooth on the scale k + c ≥ 100, so
    // Σ_{k≥k0} f = ∫_{k0}^∞ f + f(k0)/2 − f'(k0)/12 + f'''(k0)/720 − f⁽⁵⁾(k0)/30240 + O(1e-20 f).
    let alpha = -(-b).ln_1p();
    let k0 = (100.0 - c).max(1.0).ceil();
    let mut head = 0.0;
    let mut k = 1.0;
    while k < k0 {
        head += (-alpha * k).exp() / (k + c);
        k += 1.0;
    }
    let u = k0 + c;
    let e = (-alpha * k0).exp();
    // f^{(j)}(k0) = e^{−αk0} Σ_{i=0}^{j} C(j,i) (−α)^{j−i} (−1)^i i! / u^{i+1}
    let deriv = |j: u32| -> f64 {
        let mut sum = 0.0;
        let mut binom = 1.0;
        let mut fact = 1.0;
        for i in 0..=j {
            if i > 0 {
                binom *= f64::from(j - i + 1) / f64::from(i);
                fact *= f64::from(i);
            }
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            sum += binom * (-alpha).powi((j - i) as i32) * sign * fact / u.powi(i as i32 + 1);
        }
        e * sum
    };
    let integral = e * exp1_scaled(alpha * u);
    head + integral + e / u / 2.0 - deriv(1) / 12.0 + deriv(3) / 720.0 - deriv(5) / 30240.0
}

pub(super) fn chao_wang_jost_nats(s: &Spectrum) -> f64 {
    let n = s.n();
    let f1 = s.f(1) as f64;
    let f2 = s.f(2) as f64;
    let observed_part: f64 = s
        .groups
        .iter()
        .filter(|&&(c, _)| c < s.total)
        .map(|&(c, f)| f as f64 * (c as f64 / n) * digamma_difference(s.total, c))
        .sum();
    let b = if f2 > 0.0 {
        2.0 * f2 / ((n - 1.0) * f1 + 2.0 * f2)
    } else if f1 > 0.0 {
        2.0 / ((n - 1.0) * (f1 - 1.0) + 2.0)
    } else {
        1.0
    };
    let unseen_part = if f1 > 0.0 && b < 1.0 {
        f1 / n * cwj_tail(b, n)
    } else {
        0.0
    };
    observed_part + unseen_part
}

/// Chao–Wang–Jost entropy in bits.
///
/// ```text
/// H_CWJ = Σ_{i: n_i < N} (n_i/N) Σ_{k=n_i}^{N−1} 1/k
///       + (f1/N) (1 − B)^{1−N} [−ln B − Σ_{r=1}^{N−1} (1 − B)^r / r]
/// B = 2 f2 / ((N − 1) f1 + 2 f2)    if f2 > 0
///   = 2 / ((N − 1)(f1 − 1) + 2)     if f2 = 0 < f1
///   = 1                             if f1 = f2 = 0  (second term 0)
/// ```
/// `Σ_{k=n}^{N−1} 1/k = ψ(N) − ψ(n)`. The second term equals `(f1/N) Σ_{k≥1} (1 − B)^k/(k + N − 1)`,
/// which is what is evaluated (directly, or by Euler–Maclaurin for tiny `B`), since the literal
/// form cancels catastrophically once `(1 − B)^N` is small. Reference: A. Chao, Y. T. Wang and
/// L. Jost (2013), eq. 7.
///
/// Edge cases: a single symbol gives 0; all singletons are finite; empty or all-zero input is
/// [`EstimateError::EmptyInput`].
pub fn chao_wang_jost(counts: &[u64]) -> Result<f64, EstimateError> {
    Ok(chao_wang_jost_nats(&Spectrum::from_counts(counts)?) / LN_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::check_columns;

    #[test]
    fn matches_mpmath_references() {
        check_columns(chao_wang_jost, 3, Some((1, |w| 1e-12 * w.abs())));
    }

    /// Computed independently as `x·mpmath.lerchphi(x, 1, N)`, `x = 1 − B`, at 50 digits.
    #[test]
    fn cwj_tail_reference_values() {
        let table = [
            (0.5, 1.0, std::f64::consts::LN_2), // Σ 2^-k / k = ln 2
            (0.5, 10.0, 0.09215009748564922),
            (0.1, 1000.0, 0.008920496767926455),
            (1e-3, 50.0, 2.6014260092815022),
            (1e-3, 100000.0, 0.009892137362602315),
            (4.1e-4, 3.0, 6.305342635248728),
            (3.9e-4, 3.0, 6.3550997539880205),
            (1e-4, 20.0, 5.6752731799773635),
            (1e-6, 1e6, 0.5963470641493214),
            (1e-9, 1000.0, 13.23880920095961),
            (2e-9, 32000.0, 9.080072519647825),
            (1e-12, 1e12, 0.5963473623228959),
        ];
        for (b, n, want) in table {
            let got = cwj_tail(b, n);
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "T({b}, {n}) = {got}, want {want}"
            );
        }
    }
}
