//! Special functions the estimators need, in forms that do not cancel.
//!
//! ```text
//! ln_fraction(c, n)        = ln(c/n), as ln1p(−(n − c)/n) when c/n > ½
//! digamma_difference(n, c) = ψ(n) − ψ(c) = Σ_{k=c}^{n−1} 1/k, or an ln1p series for c ≈ n ≫ 1
//! exp1_scaled(z)           = e^z E1(z)               (series / continued fraction)
//! trigamma(x)              = ψ₁(x)                   (recurrence, then asymptotic series)
//! x_trigamma_minus_one(x)  = x ψ₁(x) − 1 → 1/(2x)
//! ln_gamma_large(z)        = ln Γ(z), z ≥ 10         (Stirling series)
//! ln_gamma_ratio(x, ln x, n) = ln Γ(x + n) − ln Γ(x)
//! ```
//!
//! ## References
//! - M. Abramowitz and I. A. Stegun (1964), *Handbook of Mathematical Functions*, §6.3–6.4
//!   (ψ, ψ₁, Stirling), §5.1 (E1).
//! - W. H. Press et al. (2007), *Numerical Recipes*, 3rd ed., §6.3 (E1 by continued fraction).

use statrs::function::gamma::{digamma, ln_gamma};

/// Euler–Mascheroni constant γ = −ψ(1).
pub(super) const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// `ln(c/n)` for `0 < c ≤ n`, via `ln1p(−(n − c)/n)` when `c/n > ½`, so that a dominant bin
/// (`c/n` near 1) keeps full relative accuracy.
pub(super) fn ln_fraction(c: u64, n: u64) -> f64 {
    if c > n / 2 {
        (-((n - c) as f64) / n as f64).ln_1p()
    } else {
        (c as f64 / n as f64).ln()
    }
}

/// `ψ(n) − ψ(c) = Σ_{k=c}^{n−1} 1/k` for integers `1 ≤ c ≤ n`, accurate also when `c` is close
/// to a huge `n` (where the difference of two `ψ` values of ~27 would keep no digits).
pub(super) fn digamma_difference(n: u64, c: u64) -> f64 {
    let gap = n - c;
    if gap <= 64 {
        return (c..n).rev().map(|k| 1.0 / k as f64).sum();
    }
    if c < 64 {
        // the difference exceeds ψ(c + 65) − ψ(c) > 0.6, so nothing cancels
        return digamma(n as f64) - digamma(c as f64);
    }
    // ψ(x) = ln x − 1/(2x) − Σ B_{2k}/(2k x^{2k}); difference term by term, the log as ln1p
    let (x, y) = (n as f64, c as f64);
    let series = |z: f64| {
        let r2 = 1.0 / (z * z);
        r2 * (1.0 / 12.0
            - r2 * (1.0 / 120.0 - r2 * (1.0 / 252.0 - r2 * (1.0 / 240.0 - r2 / 132.0))))
    };
    (gap as f64 / y).ln_1p() + gap as f64 / (2.0 * x * y) - (series(x) - series(y))
}

/// `e^z E1(z)` for `z > 0` (series below 1, continued fraction above; Numerical Recipes §6.3).
pub(super) fn exp1_scaled(z: f64) -> f64 {
    if z <= 1.0 {
        let mut sum = 0.0;
        let mut term = 1.0;
        let mut k = 1.0;
        loop {
            term *= -z / k;
            let add = -term / k;
            sum += add;
            if add.abs() <= 1e-17 * sum.abs().max(1e-300) {
                break;
            }
            k += 1.0;
        }
        return (-EULER_GAMMA - z.ln() + sum) * z.exp();
    }
    let tiny = 1e-300;
    let mut b = z + 1.0;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let an = -f64::from(i) * f64::from(i);
        b += 2.0;
        d = 1.0 / (an * d + b);
        c = b + an / c;
        let del = c * d;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Bernoulli-number series shared by `trigamma` and `x_trigamma_minus_one` (x ≥ 10):
/// `P(r²) = 1/6 − r²/30 + r⁴/42 − r⁶/30 + 5r⁸/66 − 691r¹⁰/2730 + 7r¹²/6`.
pub(super) fn trigamma_series(r2: f64) -> f64 {
    1.0 / 6.0
        - r2 * (1.0 / 30.0
            - r2 * (1.0 / 42.0
                - r2 * (1.0 / 30.0 - r2 * (5.0 / 66.0 - r2 * (691.0 / 2730.0 - r2 * 7.0 / 6.0)))))
}

/// Trigamma `ψ₁(x) = d²/dx² ln Γ(x)` for `x > 0`: recurrence `ψ₁(x) = ψ₁(x+1) + 1/x²` up to
/// `x ≥ 10`, then the asymptotic series `1/x + 1/(2x²) + Σ B_{2k}/x^{2k+1}` (relative error < 1e-16).
pub(super) fn trigamma(x: f64) -> f64 {
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    acc + r + r2 / 2.0 + r * r2 * trigamma_series(r2)
}

/// `x ψ₁(x) − 1`, which tends to `1/(2x)`; computed without the cancellation of the naive form.
pub(super) fn x_trigamma_minus_one(x: f64) -> f64 {
    if x < 10.0 {
        return x * trigamma(x) - 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    r / 2.0 + r2 * trigamma_series(r2)
}

/// Stirling remainder `ln Γ(z) − [(z − ½) ln z − z + ½ ln 2π]` for `z ≥ 10` (error < 1e-16).
pub(super) fn stirling_correction(z: f64) -> f64 {
    let r = 1.0 / z;
    let r2 = r * r;
    r * (1.0 / 12.0
        - r2 * (1.0 / 360.0
            - r2 * (1.0 / 1260.0
                - r2 * (1.0 / 1680.0
                    - r2 * (1.0 / 1188.0 - r2 * (691.0 / 360_360.0 - r2 / 156.0))))))
}

/// `ln Γ(z)` for `z ≥ 10` by Stirling's series (relative error ~1e-16).
pub(super) fn ln_gamma_large(z: f64) -> f64 {
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
    (z - 0.5) * z.ln() - z + HALF_LN_2PI + stirling_correction(z)
}

/// `ln Γ(x + n) − ln Γ(x)` for `x > 0`, `n ≥ 0`, given also `ln x` (so that `x` may be
/// subnormal). Large `x` uses the difference of Stirling series, which avoids subtracting two
/// huge `ln Γ` values.
pub(super) fn ln_gamma_ratio(x: f64, ln_x: f64, n: f64) -> f64 {
    if n == 0.0 {
        return 0.0;
    }
    if x >= 10.0 {
        (x - 0.5) * (n / x).ln_1p() + n * (x + n).ln() - n + stirling_correction(x + n)
            - stirling_correction(x)
    } else if x < 1.0 {
        // ln Γ(x) = ln Γ(1 + x) − ln x
        ln_gamma(x + n) - ln_gamma(1.0 + x) + ln_x
    } else {
        ln_gamma(x + n) - ln_gamma(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::close;

    #[test]
    fn special_functions() {
        // ψ₁(1) = π²/6, ψ₁(1/2) = π²/2, ψ₁(10.5) from the recurrence off ψ₁(1/2).
        let pi2 = std::f64::consts::PI.powi(2);
        assert!(close(trigamma(1.0), pi2 / 6.0, 1e-15));
        assert!(close(trigamma(0.5), pi2 / 2.0, 1e-14));
        let mut want = pi2 / 2.0;
        for k in 0..10 {
            let x = 0.5 + f64::from(k);
            want -= 1.0 / (x * x);
        }
        assert!(close(trigamma(10.5), want, 1e-15));
        // x ψ₁(x) − 1 = 1/(2x) + 1/(6x²) − …: at 1e8 the naive form would have no correct digit
        assert!(close(x_trigamma_minus_one(1e8), 0.5e-8 + 1.0 / 6e16, 1e-24));
        for x in [10.0, 12.5, 50.0] {
            assert!(close(x_trigamma_minus_one(x), x * trigamma(x) - 1.0, 1e-15));
        }
        // ln Γ(x + n) − ln Γ(x) against ln_gamma where both are small enough to subtract.
        for (x, n) in [
            (10.0, 3.0),
            (12.3, 100.0),
            (500.0, 7.0),
            (0.25, 4.0),
            (3.0, 2.5),
        ] {
            let want = ln_gamma(x + n) - ln_gamma(x);
            assert!(close(
                ln_gamma_ratio(x, f64::ln(x), n),
                want,
                1e-11 * want.abs()
            ));
        }
        for z in [10.0, 17.5, 123.25, 1e6] {
            assert!(close(ln_gamma_large(z), ln_gamma(z), 1e-14 * ln_gamma(z)));
        }
        // ψ(n) − ψ(c) against digamma where the difference is large, and a harmonic sum
        for (n, c) in [
            (100u64, 1u64),
            (1000, 63),
            (1000, 64),
            (5000, 100),
            (200, 136),
        ] {
            let want = digamma(n as f64) - digamma(c as f64);
            assert!(
                close(digamma_difference(n, c), want, 1e-14 * want),
                "{n} {c}"
            );
        }
        let want: f64 = (1_000_000_000_000u64..1_000_000_000_100)
            .map(|k| 1.0 / k as f64)
            .sum();
        let got = digamma_difference(1_000_000_000_100, 1_000_000_000_000);
        assert!(close(got, want, 1e-15 * want));
        // e^z E1(z): E1(1) = 0.21938393439552027, E1(0.1) = 1.8229239584193906 (A&S table 5.1)
        assert!(close(
            exp1_scaled(1.0),
            0.21938393439552027 * 1f64.exp(),
            1e-15
        ));
        assert!(close(
            exp1_scaled(0.1),
            1.8229239584193906 * 0.1f64.exp(),
            1e-14
        ));
        assert!(close(
            exp1_scaled(1.5),
            0.10001958240663263 * 1.5f64.exp(),
            1e-15
        ));
    }
}
