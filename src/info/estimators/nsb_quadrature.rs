//! NSB's quadrature: the posterior over `t = ln β` and its integration (see [`super::nsb()`]).
//!
//! ```text
//! w(t) = ξ'(β) P(n | β) β,   P(n | β) ∝ Γ(Aβ)/Γ(N + Aβ) Π_i Γ(n_i + β)/Γ(β),   β = e^t
//! ξ'(β) = Aψ₁(Aβ + 1) − ψ₁(β + 1)
//! E[H | n, β]  = ψ(κ + 1) − Σ_i (a_i/κ) ψ(a_i + 1),        a_i = n_i + β,  κ = N + Aβ
//! Var[H | n, β] = [Σ_i (a_i/κ)(ψ(a_i+1) − v̄)² + Σ_i (a_i/κ) g(a_i+1) − g(κ+1)] / (κ + 1)
//! ```
//!
//! Steps: a coarse scan of `ln w` in steps of 2, outward from a starting point; golden-section
//! refinement of the mode; cut points where `ln w` falls 40 below the mode, by bisection; the
//! trapezoid rule on the cut interval, doubled until the normaliser, mean and variance settle.
//! Sums run over counts of counts, and the `A − m` empty bins are one closed-form group, so each
//! node costs O(number of distinct counts) even for `A = 1e300`.
//!
//! ## References
//! - I. Nemenman, F. Shafee and W. Bialek (2002), "Entropy and inference, revisited", NIPS 14.
//! - D. H. Wolpert and D. R. Wolf (1995), Phys. Rev. E 52 (the moments).
//! - B. Levin and J. Reeds (1977), Ann. Statist. 5 (unimodality of the likelihood in β).

use statrs::function::gamma::{digamma, ln_gamma};

use super::special::{ln_gamma_large, ln_gamma_ratio, x_trigamma_minus_one};
use super::spectrum::Spectrum;

/// `ln Γ(β + c) − ln Γ(β) = ln[β(β+1)…(β+c−1)]` for integer `c ≥ 1`, given `t = ln β`: one
/// logarithm of a short product for small `c` (the common case, and the hot loop of NSB),
/// [`ln_gamma_ratio`] otherwise.
pub(super) fn ln_rising(beta: f64, t: f64, c: u64) -> f64 {
    if c == 1 {
        t
    } else if c <= 16 && beta <= 1e12 {
        let mut product = 1.0;
        for j in 1..c {
            product *= beta + j as f64;
        }
        t + product.ln()
    } else {
        ln_gamma_ratio(beta, t, c as f64)
    }
}

/// The NSB posterior over `t = ln β` for one spectrum and alphabet.
struct NsbPosterior<'a> {
    groups: &'a [(u64, u64)],
    n: f64,
    observed: f64,
    alphabet: f64,
    ln_alphabet: f64,
}

/// Posterior moments of `H` (nats) under `Dirichlet(n + β)`.
struct Moments {
    mean: f64,
    var: f64,
}

impl NsbPosterior<'_> {
    /// `ln[ξ'(β) P(n | β) β]` up to a constant, with
    /// `P(n | β) ∝ Γ(Aβ)/Γ(N + Aβ) Π_i Γ(n_i + β)/Γ(β)` (zero bins contribute 1) and the Jacobian
    /// `β` of `dβ = β dt`.
    fn log_weight(&self, t: f64) -> f64 {
        let beta = t.exp();
        let ln_ab = t + self.ln_alphabet;
        let ab = ln_ab.exp();
        // ξ'(β) = Aψ₁(Aβ+1) − ψ₁(β+1), rewritten with g(x) = xψ₁(x) − 1 so that the two 1/β
        // leading terms cancel analytically: (A−1)/((Aβ+1)(β+1)) + A g(Aβ+1)/(Aβ+1) − g(β+1)/(β+1)
        let dxi = (self.alphabet - 1.0) / (ab + 1.0) / (beta + 1.0)
            + self.alphabet * x_trigamma_minus_one(ab + 1.0) / (ab + 1.0)
            - x_trigamma_minus_one(beta + 1.0) / (beta + 1.0);
        if dxi.is_nan() || dxi <= 0.0 || dxi.is_infinite() {
            return f64::NEG_INFINITY;
        }
        let mut lw = dxi.ln() + t - ln_gamma_ratio(ab, ln_ab, self.n);
        // ln Γ(c + β) − ln Γ(β) per group. For small β, ln Γ(β) is computed once per node (it is
        // small, so nothing cancels) and ln Γ(c + β) of the large counts by Stirling's series.
        let ln_gamma_beta = if beta < 1.0 {
            ln_gamma(1.0 + beta) - t
        } else if beta < 10.0 {
            ln_gamma(beta)
        } else {
            f64::NAN
        };
        for &(c, f) in self.groups {
            let rising = if c <= 16 && beta <= 1e12 {
                ln_rising(beta, t, c)
            } else if beta < 10.0 {
                ln_gamma_large(c as f64 + beta) - ln_gamma_beta
            } else {
                ln_gamma_ratio(beta, t, c as f64)
            };
            lw += f as f64 * rising;
        }
        lw
    }

    /// `E[H | n, β]` and `Var[H | n, β]` (Wolpert & Wolf 1995). With `a_i = n_i + β`,
    /// `κ = N + Aβ`, `w_i = a_i/κ`, `v_i = ψ(a_i + 1)`:
    /// `E = ψ(κ+1) − Σ w_i v_i` and, rearranged from the second-moment formula so that no
    /// `E[H²] − E[H]²` cancellation occurs,
    /// `Var = [Σ w_i (v_i − v̄)² + Σ w_i g(a_i + 1) − g(κ + 1)] / (κ + 1)`, `g(x) = xψ₁(x) − 1`.
    /// The `A − m` empty bins form one group with `a = β`.
    fn moments(&self, t: f64) -> Moments {
        let beta = t.exp();
        let ab = (t + self.ln_alphabet).exp();
        let kappa = self.n + ab;
        let zero_weight = ab * (1.0 - self.observed / self.alphabet) / kappa;
        let mut terms: Vec<(f64, f64, f64)> = Vec::with_capacity(self.groups.len() + 1);
        for &(c, f) in self.groups {
            let a = c as f64 + beta;
            terms.push((
                f as f64 * a / kappa,
                digamma(a + 1.0),
                x_trigamma_minus_one(a + 1.0),
            ));
        }
        if zero_weight > 0.0 {
            terms.push((
                zero_weight,
                digamma(beta + 1.0),
                x_trigamma_minus_one(beta + 1.0),
            ));
        }
        let vbar: f64 = terms.iter().map(|&(w, v, _)| w * v).sum();
        let spread: f64 = terms
            .iter()
            .map(|&(w, v, _)| w * (v - vbar) * (v - vbar))
            .sum();
        let curvature: f64 = terms.iter().map(|&(w, _, g)| w * g).sum();
        let var = (spread + curvature - x_trigamma_minus_one(kappa + 1.0)) / (kappa + 1.0);
        Moments {
            mean: digamma(kappa + 1.0) - vbar,
            var: var.max(0.0),
        }
    }
}

/// NSB result in nats.
pub(super) struct NsbNats {
    pub(super) mean: f64,
    pub(super) sd: f64,
    pub(super) bounded: bool,
    /// `ln β` at the posterior mode: a starting point for the scan of a similar spectrum.
    pub(super) t_peak: f64,
}

/// Log-weight drop (nats) below the peak at which the `ln β` integration range is cut.
const NSB_CUT: f64 = 40.0;

/// Posterior mean and s.d. of `H` (nats) under the NSB prior. `hint` is a starting point of the
/// scan in `ln β` (the mode of a similar spectrum); `quick` relaxes the stopping rule of the
/// quadrature (changes below 1e-4 instead of 1e-6 between levels, i.e. errors of order 1e-8
/// instead of 1e-12), which is ample for bootstrap replicates.
pub(super) fn nsb_nats(s: &Spectrum, alphabet: f64, hint: Option<f64>, quick: bool) -> NsbNats {
    let bounded = s.total > s.observed as u64;
    if alphabet <= 1.0 {
        // A single-letter alphabet has H = 0 with certainty.
        return NsbNats {
            mean: 0.0,
            sd: 0.0,
            bounded: true,
            t_peak: 0.0,
        };
    }
    let post = NsbPosterior {
        groups: &s.groups,
        n: s.n(),
        observed: s.observed as f64,
        alphabet,
        ln_alphabet: alphabet.ln(),
    };
    // 1. Coarse scan in t = ln β, from a starting point outwards in both directions, each
    //    direction stopping NSB_CUT + 10 below the running maximum once past it. The weight has
    //    one mode in practice: the Dirichlet-multinomial likelihood is unimodal in β (Levin &
    //    Reeds 1977) and the prior ξ'(β)β rises like β and falls like 1/β. Hard limits: below
    //    Aβ = e^{-40} the weight falls like β^m; above Aβ = e^{700} it would overflow.
    let step = 2.0;
    let t_min = -post.ln_alphabet - 40.0;
    let t_max = (700.0 - post.ln_alphabet).min(700.0);
    let start = hint
        .unwrap_or_else(|| (post.observed / alphabet).ln())
        .clamp(t_min, t_max);
    let mut right: Vec<(f64, f64)> = Vec::new();
    let mut best = (start, f64::NEG_INFINITY);
    let mut t = start;
    loop {
        let lw = post.log_weight(t);
        right.push((t, lw));
        if lw > best.1 {
            best = (t, lw);
        }
        if (t > best.0 && lw < best.1 - NSB_CUT - 10.0) || t + step > t_max {
            break;
        }
        t += step;
    }
    let mut left: Vec<(f64, f64)> = Vec::new();
    let mut t = start - step;
    while t >= t_min {
        let lw = post.log_weight(t);
        left.push((t, lw));
        if lw > best.1 {
            best = (t, lw);
        }
        if t < best.0 && lw < best.1 - NSB_CUT - 10.0 {
            break;
        }
        t -= step;
    }
    let (ts, lws): (Vec<f64>, Vec<f64>) = left.into_iter().rev().chain(right).unzip();
    let best = lws
        .iter()
        .enumerate()
        .fold(0, |b, (i, &l)| if l > lws[b] { i } else { b });
    // 2. Refine the maximum by golden-section search between the neighbours of the best node.
    let last = ts.len() - 1;
    let (mut lo, mut hi) = (ts[best.saturating_sub(1)], ts[(best + 1).min(last)]);
    let golden = 0.5 * (5f64.sqrt() - 1.0);
    let mut x1 = hi - golden * (hi - lo);
    let mut x2 = lo + golden * (hi - lo);
    let (mut f1, mut f2) = (post.log_weight(x1), post.log_weight(x2));
    for _ in 0..16 {
        if f1 < f2 {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + golden * (hi - lo);
            f2 = post.log_weight(x2);
        } else {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - golden * (hi - lo);
            f1 = post.log_weight(x1);
        }
    }
    let (mut t_peak, mut l_peak) = if f1 >= f2 { (x1, f1) } else { (x2, f2) };
    if lws[best] > l_peak {
        t_peak = ts[best];
        l_peak = lws[best];
    }
    if !l_peak.is_finite() {
        // Defensive only (no input reaching here is known to do this): a weight that is
        // nowhere finite leaves no posterior to integrate; report the conditional moments at
        // the scan's start rather than NaN.
        let m = post.moments(start);
        return NsbNats {
            mean: m.mean,
            sd: m.var.sqrt(),
            bounded,
            t_peak: start,
        };
    }
    // 3. Cut points where the weight falls NSB_CUT below the peak, by bisection between the
    //    outermost scanned nodes above the threshold and their outer neighbours.
    let threshold = l_peak - NSB_CUT;
    // returns the outer end of the final bracket, so the cut never falls inside the threshold
    let bisect = |mut below: f64, mut above: f64| -> f64 {
        for _ in 0..8 {
            let mid = 0.5 * (below + above);
            if post.log_weight(mid) >= threshold {
                above = mid;
            } else {
                below = mid;
            }
        }
        below
    };
    let first_above = lws.iter().position(|&l| l >= threshold);
    let t_lo = match first_above {
        Some(0) if ts[0] < t_peak => ts[0],
        Some(i) if ts[i] < t_peak => bisect(ts[i - 1], ts[i]),
        // no scanned node left of the peak is above the threshold
        _ => match ts.iter().rposition(|&t| t < t_peak) {
            Some(j) => bisect(ts[j], t_peak),
            None => t_peak,
        },
    };
    let last_above = lws.iter().rposition(|&l| l >= threshold);
    let t_hi = match last_above {
        Some(i) if i == last && ts[i] > t_peak => ts[i],
        Some(i) if ts[i] > t_peak => bisect(ts[i + 1], ts[i]),
        _ => match ts.iter().position(|&t| t > t_peak) {
            Some(j) => bisect(ts[j], t_peak),
            None => t_peak,
        },
    };
    // 4. Trapezoid rule on [t_lo, t_hi], doubled until the normaliser, mean and variance settle
    //    (the integrand is smooth and negligible at both ends, so convergence is geometric).
    let reference = post.moments(t_peak).mean;
    let mut sums = [0.0f64; 3]; // Σ w, Σ w (E − ref), Σ w (Var + (E − ref)²), trapezoid weights
    let add = |t: f64, weight: f64, sums: &mut [f64; 3]| {
        let w = weight * (post.log_weight(t) - l_peak).exp();
        if w > 0.0 {
            let m = post.moments(t);
            let d = m.mean - reference;
            sums[0] += w;
            sums[1] += w * d;
            sums[2] += w * (m.var + d * d);
        }
    };
    let (mut intervals, change_tol, z_tol) = if quick {
        (16usize, 1e-4, 1e-2)
    } else {
        (32usize, 1e-6, 1e-4)
    };
    let mut h = (t_hi - t_lo) / intervals as f64;
    for j in 0..=intervals {
        let weight = if j == 0 || j == intervals { 0.5 } else { 1.0 };
        add(t_lo + j as f64 * h, weight, &mut sums);
    }
    let summarise = |sums: &[f64; 3]| -> (f64, f64) {
        let mean = sums[1] / sums[0];
        (reference + mean, (sums[2] / sums[0] - mean * mean).max(0.0))
    };
    let (mut mean, mut var) = summarise(&sums);
    while intervals < 8192 && h > 0.0 {
        let previous_z = sums[0];
        for j in 0..intervals {
            add(t_lo + (j as f64 + 0.5) * h, 1.0, &mut sums);
        }
        intervals *= 2;
        h /= 2.0;
        let (new_mean, new_var) = summarise(&sums);
        // the sums carry the weights of the finer grid times 2 relative to the coarser one
        let z_change = ((sums[0] / 2.0) - previous_z).abs() / previous_z.max(f64::MIN_POSITIVE);
        // The error of the trapezoid rule on an analytic, decaying integrand falls at least
        // like e^{-c/h}: halving h squares it, so a change of δ between the last two levels
        // leaves an error of order δ². These thresholds give errors far below 1e-9 nats.
        let done = (new_mean - mean).abs() <= change_tol * (1.0 + new_mean.abs())
            && (new_var.sqrt() - var.sqrt()).abs() <= change_tol * (1.0 + new_var.sqrt())
            && z_change <= z_tol;
        mean = new_mean;
        var = new_var;
        if done {
            break;
        }
    }
    NsbNats {
        mean,
        sd: var.sqrt(),
        bounded,
        t_peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::estimators::reference::close;
    use crate::info::estimators::special::ln_gamma_ratio;

    #[test]
    fn ln_rising_matches_ln_gamma_ratio() {
        for (beta, c) in [
            (1e-300, 3u64),
            (0.3, 1),
            (0.3, 7),
            (2.5, 16),
            (2.5, 17),
            (1e13, 5),
        ] {
            let want = ln_gamma_ratio(beta, beta.ln(), c as f64);
            let got = ln_rising(beta, beta.ln(), c);
            assert!(close(got, want, 1e-12 * want.abs().max(1.0)), "{beta} {c}");
        }
    }
}
