//! The toy model of Appendix B.2 (SPEC §2): a one-hidden-layer ReLU MLP
//!
//! ```text
//! f(x) = W2 · relu(W1 x + b1) + b2,   W1: h×d, b1: h, W2: o×h, b2: o
//! p = h·d + h + o·h + o
//! ```
//!
//! with parameters in the index order `W1` (row-major), `b1`, `W2` (row-major), `b2`, and its
//! losses on a point `(x, y)` with outputs `u = f(x)/T` (temperature `T`, 1 unless GraSP):
//!
//! ```text
//! MSE:            ℓ = ½ Σ_o (u_o − y)²                    (every output regresses y ∈ {±1})
//! cross-entropy:  ℓ = logsumexp(u) − u_c,  c = (y + 1)/2   (o = 2 classes)
//! L(θ) = (1/n) Σ_i ℓ(x_i, y_i)
//! ```

pub mod init_file;
pub mod lanes;
pub mod noise;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use super::loss::Loss;

/// One parameter (or activation) across the `L` lanes of the lockstep trainer ([`lanes`]) and
/// its noise streams ([`noise`]).
pub type Lane<const L: usize> = [f64; L];

/// Architecture of the toy MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToyShape {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Hidden width `h`.
    pub hidden: usize,
    /// Number of outputs `o`.
    pub outputs: usize,
    /// Training loss.
    pub loss: Loss,
}

impl ToyShape {
    /// The task presets, by name (`--task`, and the `task` of the Python functions).
    pub const TASKS: [&'static str; 2] = ["regression", "classification"];

    /// The shape of a task preset: `regression` is `d = 3, h = 4, o = 1` with MSE (`p = 21`),
    /// `classification` is `d = 3, h = 3, o = 2` with cross-entropy (`p = 20`); `None` for
    /// another name.
    pub fn preset(task: &str) -> Option<ToyShape> {
        let (input_dim, hidden, outputs, loss) = match task {
            "regression" => (3, 4, 1, Loss::Mse),
            "classification" => (3, 3, 2, Loss::CrossEntropy),
            _ => return None,
        };
        Some(ToyShape {
            input_dim,
            hidden,
            outputs,
            loss,
        })
    }

    /// Number of parameters `p = h·d + h + o·h + o`.
    pub fn num_params(&self) -> usize {
        self.hidden * self.input_dim + self.hidden + self.outputs * self.hidden + self.outputs
    }

    /// PyTorch's `nn.Linear` default init: every weight and bias of a layer drawn from
    /// `U(−1/√fan_in, 1/√fan_in)`, from `ChaCha8Rng::seed_from_u64(seed)` in index order.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let bound1 = 1.0 / (self.input_dim as f64).sqrt();
        let bound2 = 1.0 / (self.hidden as f64).sqrt();
        let first = self.hidden * (self.input_dim + 1);
        (0..self.num_params())
            .map(|i| {
                let b = if i < first { bound1 } else { bound2 };
                rng.random_range(-b..b)
            })
            .collect()
    }

    /// Gradient of SynFlow's objective `S = Σ_o f_o(1)` (all-ones input) at `params`.
    ///
    /// ReLU derivatives use `relu'(z) = 1[z > 0]`, as everywhere in peff.
    pub fn synflow_gradient(&self, params: &[f64], out: &mut [f64]) {
        let (d, h, o) = (self.input_dim, self.hidden, self.outputs);
        out.fill(0.0);
        for j in 0..h {
            let z = (0..d).fold(params[self.b1(j)], |acc, t| acc + params[self.w1(j, t)]);
            let a = z.max(0.0);
            let mut da = 0.0;
            for k in 0..o {
                out[self.w2(k, j)] = a;
                da += params[self.w2(k, j)];
            }
            if z > 0.0 {
                out[self.b1(j)] = da;
                for t in 0..d {
                    out[self.w1(j, t)] = da;
                }
            }
        }
        for k in 0..o {
            out[self.b2(k)] = 1.0;
        }
    }

    /// Layer shapes `(out, in)` of the two linear layers, input to output.
    pub fn layers(&self) -> [(usize, usize); 2] {
        [(self.hidden, self.input_dim), (self.outputs, self.hidden)]
    }
}

/// Layer sizes `(d, h, o)` and the parameter index map of SPEC §2, either known at run time
/// ([`ToyShape`]) or at compile time ([`Fixed`], so that the trainer's loops unroll).
pub trait Dims: Copy {
    /// Input dimension `d`.
    fn d(self) -> usize;
    /// Hidden width `h`.
    fn h(self) -> usize;
    /// Outputs `o`.
    fn o(self) -> usize;
    /// Points per dataset, when fixed at compile time.
    fn n(self) -> Option<usize> {
        None
    }
    /// Index of `W1[j, t]`.
    #[inline(always)]
    fn w1(self, j: usize, t: usize) -> usize {
        j * self.d() + t
    }
    /// Index of `b1[j]`.
    #[inline(always)]
    fn b1(self, j: usize) -> usize {
        self.h() * self.d() + j
    }
    /// Index of `W2[o, j]`.
    #[inline(always)]
    fn w2(self, o: usize, j: usize) -> usize {
        self.h() * (self.d() + 1) + o * self.h() + j
    }
    /// Index of `b2[o]`.
    #[inline(always)]
    fn b2(self, o: usize) -> usize {
        self.h() * (self.d() + 1) + self.o() * self.h() + o
    }
}

impl Dims for ToyShape {
    fn d(self) -> usize {
        self.input_dim
    }
    fn h(self) -> usize {
        self.hidden
    }
    fn o(self) -> usize {
        self.outputs
    }
}

/// Dimensions fixed at compile time (`N = 0`: points per dataset known only at run time).
#[derive(Clone, Copy, Debug)]
pub struct Fixed<const D: usize, const H: usize, const O: usize, const N: usize>;

impl<const D: usize, const H: usize, const O: usize, const N: usize> Dims for Fixed<D, H, O, N> {
    #[inline(always)]
    fn n(self) -> Option<usize> {
        (N > 0).then_some(N)
    }
    #[inline(always)]
    fn d(self) -> usize {
        D
    }
    #[inline(always)]
    fn h(self) -> usize {
        H
    }
    #[inline(always)]
    fn o(self) -> usize {
        O
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact values are what these tests pin.
mod tests {
    use super::*;

    #[test]
    fn presets_have_documented_parameter_counts() {
        let reg = ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        };
        assert_eq!(reg.num_params(), 21);
        assert_eq!(reg.b2(0), 20);
        assert_eq!(reg.w2(0, 0), 16);
        let cls = ToyShape {
            input_dim: 3,
            hidden: 3,
            outputs: 2,
            loss: Loss::CrossEntropy,
        };
        assert_eq!(cls.num_params(), 20);
    }

    #[test]
    fn init_respects_fan_in_bounds() {
        let s = ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        };
        let p = s.init_params(0);
        assert_eq!(p, s.init_params(0));
        assert!(p[..16].iter().all(|v| v.abs() < 1.0 / 3f64.sqrt()));
        assert!(p[16..].iter().all(|v| v.abs() < 0.5));
    }
}
