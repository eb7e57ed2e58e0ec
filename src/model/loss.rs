//! The training losses every network shares, on outputs `f` (one row of `o` values per point)
//! divided by a temperature `T` (1 unless GraSP), with the output delta the backward pass starts
//! from and its R-operator for Hessian-vector products:
//!
//! ```text
//! u = f / T
//! MSE:            ℓ = ½ Σ_o (u_o − y_o)²          ∂ℓ/∂u = u − y      ∇²ℓ(u) = I
//! cross-entropy:  ℓ = logsumexp(u) − u_c           ∂ℓ/∂u = s − e_c    ∇²ℓ(u) = diag(s) − s sᵀ,
//!                 s = softmax(u), c the class
//! head:    δ = scale · ∂ℓ/∂u          (scale = 1/(nT) for the mean loss over n points)
//! r_head:  R{δ} = curvature · ∇²ℓ(u) R{f}   (curvature = 1/(nT²))
//! ```
//!
//! The MSE is **half** of PyTorch's `nn.MSELoss` for one output (the toy's convention, SPEC §2);
//! cross-entropy is PyTorch's `nn.CrossEntropyLoss`. The softmax subtracts the row maximum
//! before `exp`, so large logits do not overflow.

use super::dataset::TargetsRef;
use super::Scalar;

/// The training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error `½ Σ_o (f_o(x) − y_o)²` per point.
    Mse,
    /// Softmax cross-entropy (the toy: class `(y + 1)/2`).
    CrossEntropy,
}

/// `max_o u_o` of one row of outputs `f` with `u = f · inv_t`.
#[inline(always)]
fn row_max<T: Scalar>(f: &[T], inv_t: T) -> T {
    f.iter().fold(
        f[0] * inv_t,
        |m, &v| if v * inv_t > m { v * inv_t } else { m },
    )
}

impl Loss {
    /// The loss head of `rows = f.len() / o` points: output deltas `scale · ∂ℓ/∂u` into
    /// `delta`, per-point losses `ℓ_i` into `point_loss`; returns `Σ_i ℓ_i` (module docs).
    /// `targets` must match the loss (values for MSE, classes for cross-entropy; checked when
    /// the [`Dataset`](super::Dataset) was built).
    ///
    /// # Panics
    /// If the targets are of the other kind.
    #[allow(clippy::too_many_arguments)] // The outputs, targets and two out-buffers of one pass.
    #[inline]
    pub fn head<T: Scalar>(
        self,
        f: &[T],
        targets: TargetsRef<'_, T>,
        o: usize,
        inv_t: T,
        scale: T,
        delta: &mut [T],
        point_loss: &mut [T],
    ) -> f64 {
        let mut total = 0.0;
        match (self, targets) {
            (Loss::Mse, TargetsRef::Values(y)) => {
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
            (Loss::CrossEntropy, TargetsRef::Classes(c)) => {
                for (((f, &c), d), pl) in f
                    .chunks_exact(o)
                    .zip(c)
                    .zip(delta.chunks_exact_mut(o))
                    .zip(point_loss)
                {
                    let max = row_max(f, inv_t);
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
            (loss, _) => panic!("{loss:?} loss given the other kind of targets"),
        }
        total
    }

    /// The R-operator of the head: `R{δ} = curvature · ∇²ℓ(u) R{f}` into `r_delta`, for
    /// outputs `f` and their directional derivatives `r_f` (module docs).
    #[inline]
    pub fn r_head<T: Scalar>(
        self,
        f: &[T],
        r_f: &[T],
        o: usize,
        inv_t: T,
        curvature: T,
        r_delta: &mut [T],
    ) {
        match self {
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
                    let max = row_max(f, inv_t);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head's delta is the derivative of its loss (central differences in `f64`), for both
    /// losses and a temperature ≠ 1.
    #[test]
    fn head_delta_is_the_loss_derivative() {
        let f = [0.3, -1.2, 0.7, 2.0, 0.1, -0.4];
        let cases = [
            (
                Loss::Mse,
                TargetsRef::Values(&[0.5, -0.5, 1.0, 0.0, 1.0, -1.0][..]),
            ),
            (Loss::CrossEntropy, TargetsRef::Classes(&[2, 0][..])),
        ];
        for (loss, targets) in cases {
            let (o, inv_t) = (3, 0.5);
            let total = |f: &[f64]| {
                let (mut d, mut pl) = ([0.0; 6], [0.0; 2]);
                loss.head(f, targets, o, inv_t, 1.0, &mut d, &mut pl)
            };
            let (mut delta, mut pl) = ([0.0; 6], [0.0; 2]);
            loss.head(&f, targets, o, inv_t, inv_t, &mut delta, &mut pl);
            for i in 0..6 {
                let (mut up, mut down) = (f, f);
                up[i] += 1e-6;
                down[i] -= 1e-6;
                let fd = (total(&up) - total(&down)) / 2e-6;
                assert!(
                    (fd - delta[i]).abs() < 1e-8,
                    "{loss:?} {i}: {fd} vs {}",
                    delta[i]
                );
            }
            // R{δ} along a direction equals the directional derivative of δ.
            let rf = [0.2, -0.1, 0.4, 0.3, -0.5, 0.05];
            let mut rd = [0.0; 6];
            loss.r_head(&f, &rf, o, inv_t, inv_t * inv_t, &mut rd);
            let delta_at = |f: &[f64]| {
                let (mut d, mut pl) = ([0.0; 6], [0.0; 2]);
                loss.head(f, targets, o, inv_t, inv_t, &mut d, &mut pl);
                d
            };
            let (mut up, mut down) = (f, f);
            for i in 0..6 {
                up[i] += 1e-6 * rf[i];
                down[i] -= 1e-6 * rf[i];
            }
            let (du, dd) = (delta_at(&up), delta_at(&down));
            for i in 0..6 {
                let fd = (du[i] - dd[i]) / 2e-6;
                assert!((fd - rd[i]).abs() < 1e-8, "{loss:?} R{{δ}}[{i}]");
            }
        }
    }
}
