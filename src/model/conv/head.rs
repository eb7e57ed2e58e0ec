//! TEMPORARY copy of the shared loss head until `main`'s `Loss::head` / `Loss::r_head` land.
//! TODO(merge): use Loss::head and Loss::r_head; delete this file.
//!
//! ```text
//! u = f · inv_t;  MSE: ℓ = ½ Σ_o (u_o − y_o)², δ = scale (u − y)
//!                 CE:  ℓ = logsumexp(u) − u_c, δ = scale (softmax(u) − onehot(c))
//! R{δ} = curvature · ∇²ℓ(u) R{f}:  MSE: R{f};  CE: s ⊙ (R{f} − ⟨s, R{f}⟩), s = softmax(u)
//! ```
//! (the same maths and operation order as the MLP core's `output_delta` and R-head).

use super::Loss;
use super::Scalar;
use crate::model::mlp::TargetsRef;

/// Output deltas and per-point losses of outputs `f` (`rows × o`); returns `Σ_i ℓ_i` in `f64`.
// TODO(merge): use Loss::head
#[allow(clippy::too_many_arguments)]
pub(super) fn head<T: Scalar>(
    _loss: Loss,
    f: &[T],
    targets: TargetsRef<'_, T>,
    o: usize,
    inv_t: T,
    scale: T,
    delta: &mut [T],
    point_loss: &mut [T],
) -> f64 {
    let mut total = 0.0;
    match targets {
        TargetsRef::Values(y) => {
            for (((f, y), d), pl) in f
                .chunks_exact(o)
                .zip(y.chunks_exact(o))
                .zip(delta.chunks_exact_mut(o))
                .zip(point_loss)
            {
                let mut loss = T::ZERO;
                for ((&f, &y), d) in f.iter().zip(y).zip(d) {
                    let r = f.mul_add(inv_t, -y);
                    loss += r * r;
                    *d = r * scale;
                }
                *pl = loss * T::from_f64(0.5);
                total += pl.to_f64();
            }
        }
        TargetsRef::Classes(c) => {
            for (((f, &c), d), pl) in f
                .chunks_exact(o)
                .zip(c)
                .zip(delta.chunks_exact_mut(o))
                .zip(point_loss)
            {
                let max = f.iter().fold(
                    f[0] * inv_t,
                    |m, &v| if v * inv_t > m { v * inv_t } else { m },
                );
                let mut sum = T::ZERO;
                for (&f, d) in f.iter().zip(d.iter_mut()) {
                    *d = (f * inv_t - max).exp();
                    sum += *d;
                }
                for (k, d) in d.iter_mut().enumerate() {
                    let target = if k == c { T::ONE } else { T::ZERO };
                    *d = (*d / sum - target) * scale;
                }
                *pl = sum.ln() + max - f[c] * inv_t;
                total += pl.to_f64();
            }
        }
    }
    total
}

/// `R{δ} = curvature · ∇²ℓ(u) R{f}` into `r_delta` (`rows × o`).
// TODO(merge): use Loss::r_head
pub(super) fn r_head<T: Scalar>(
    loss: Loss,
    f: &[T],
    r_f: &[T],
    o: usize,
    inv_t: T,
    curvature: T,
    r_delta: &mut [T],
) {
    match loss {
        Loss::Mse => {
            for (rd, &rf) in r_delta.iter_mut().zip(r_f) {
                *rd = rf * curvature;
            }
        }
        Loss::CrossEntropy => {
            for ((f, rf), rd) in f
                .chunks_exact(o)
                .zip(r_f.chunks_exact(o))
                .zip(r_delta.chunks_exact_mut(o))
            {
                let max = f.iter().fold(
                    f[0] * inv_t,
                    |m, &v| if v * inv_t > m { v * inv_t } else { m },
                );
                let mut sum = T::ZERO;
                for (&f, s) in f.iter().zip(rd.iter_mut()) {
                    *s = (f * inv_t - max).exp();
                    sum += *s;
                }
                let mut mean = T::ZERO;
                for (s, &rf) in rd.iter_mut().zip(rf) {
                    *s = *s / sum;
                    mean += *s * rf;
                }
                for (s, &rf) in rd.iter_mut().zip(rf) {
                    *s = *s * (rf - mean) * curvature;
                }
            }
        }
    }
}
