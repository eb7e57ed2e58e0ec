//! The general MLP core (SPEC §7): `Linear` layers of any depth and width with ReLU between them,
//! hand-written backprop and R-operator Hessian-vector product on matrix products (GEMM through
//! `matrixmultiply`), as a [`Model`](crate::model::Model); the loss head, optimizers and trainer
//! are shared by every network ([`crate::model`]).
//!
//! ```text
//! widths d = w_0, w_1, …, w_L = o;   layer l = 1..L:  W_l: w_l × w_{l−1},  b_l: w_l
//! A_0 = X (n × d, one row per point),  Z_l = A_{l−1} W_lᵀ + 1 b_lᵀ,
//! A_l = relu(Z_l) (l < L),  F = Z_L,  U = F / T (temperature T, 1 unless GraSP)
//! MSE:            ℓ_i = ½ Σ_o (U_io − Y_io)²
//! cross-entropy:  ℓ_i = logsumexp(U_i) − U_{i,c_i}
//! L(θ) = (1/n) Σ_i ℓ_i
//! ```
//!
//! The MSE is the toy's convention (SPEC §2): for one output it is **half** of PyTorch's
//! `nn.MSELoss` (which averages `(F_io − Y_io)²` over points and outputs; for `o` outputs ours is
//! `o/2` times PyTorch's), so that the toy of SPEC §2 is exactly the case `L = 2`, gradients
//! included. Cross-entropy is PyTorch's `nn.CrossEntropyLoss` (mean over the batch).
//!
//! **Index order** (mask bit `i` is parameter `i`): layer by layer, the weight matrix row-major
//! (`out × in`), then the bias — for one hidden layer exactly the toy's `W1, b1, W2, b2`.
//! **Init**: PyTorch's `nn.Linear` default, every weight and bias of layer `l` drawn from
//! `U(−1/√w_{l−1}, 1/√w_{l−1})` in index order from `ChaCha8Rng::seed_from_u64(seed)`; for the toy
//! shape this is [`crate::model::toy::ToyShape::init_params`] value for value.
//!
//! **Derivatives** (`δ_l = ∂L/∂Z_l`, `relu'(z) = 1[z > 0]` as everywhere in peff):
//!
//! ```text
//! δ_L = (1/n) ∂ℓ/∂F = (1/(nT)) ℓ'(U)             MSE: U − Y;  CE: softmax(U) − onehot(c)
//! ∇W_l = δ_lᵀ A_{l−1},  ∇b_l = 1ᵀ δ_l,  δ_{l−1} = (δ_l W_l) ⊙ 1[Z_{l−1} > 0]
//! ```
//!
//! and the exact Hessian-vector product `H v` by Pearlmutter's R-operator (`R{·}` = directional
//! derivative along `v = (V_l, v_l)`):
//!
//! ```text
//! R{A_0} = 0,  R{Z_l} = R{A_{l−1}} W_lᵀ + A_{l−1} V_lᵀ + 1 v_lᵀ,  R{A_l} = R{Z_l} ⊙ 1[Z_l > 0]
//! R{δ_L} = (1/(nT²)) ∇²ℓ(U) R{F}                 MSE: R{F};  CE: s ⊙ (R{F} − ⟨s, R{F}⟩), s = softmax(U)
//! (Hv)_{W_l} = R{δ_l}ᵀ A_{l−1} + δ_lᵀ R{A_{l−1}},  (Hv)_{b_l} = 1ᵀ R{δ_l}
//! R{δ_{l−1}} = (R{δ_l} W_l + δ_l V_l) ⊙ 1[Z_{l−1} > 0]
//! ```
//!
//! Each layer's four passes are those of the shared dense layer ([`crate::model::layers::Dense`]),
//! which the MLP chains. Every product is one GEMM call ([`crate::model::Scalar::gemm`]); a transpose is a choice of strides, never
//! a copy. Biases and ReLU are fused into one pass over each layer's output, and `1[Z > 0]` is
//! read back from `A = relu(Z)`, so pre-activations are not stored. Buffers live in a
//! [`MlpWorkspace`] sized once for a batch capacity: no step allocates.
//!
//! **Masks.** A pruned parameter is stored as exactly 0 and its update is multiplied by 0, so it
//! stays 0; this equals multiplying the mask into the weights in every forward pass (SPEC §7)
//! without the extra pass. [`crate::model::Trainer::reset`] applies the mask to the starting
//! parameters and hands it to [`Model::set_mask`](crate::model::Model::set_mask): a layer whose
//! kept fraction is below the threshold then runs the kernels over its kept weights only
//! ([`crate::model::sparse::SparseLinear`]), in place of the GEMMs above.
//!
//! ## Precision: generic over `f32` and `f64`
//! The core is generic over [`crate::model::Scalar`] (`f32` or `f64`, dispatching to `sgemm` / `dgemm`).
//! Tests run it in `f64`, where finite differences are sharp and the toy equality is exact to
//! rounding (~1e-12). Experiments may train in `f32`: PyTorch, the baseline the paper's figures
//! come from, trains in `f32`, so `f32` is the faithful choice, and it doubles the SIMD width
//! (and halves the memory traffic) of every GEMM. Pruning scores ([`crate::model::ModelNetworks`]) are computed in
//! `f64` from the parameters the network actually holds, whatever the training precision, so a
//! mask's ranking is not decided by `f32` rounding of the score itself.
//!
//! **Determinism.** One network per thread; `matrixmultiply` runs single-threaded (its
//! `threading` feature is off), and every reduction runs in a fixed order, so the same inputs give
//! bit-identical results on any machine with the same SIMD features.

mod core;

pub use self::core::MlpWorkspace;

use super::layers::Dense;
use super::toy::ToyShape;
use super::{DatasetError, Loss};

/// Invalid network or data description; each message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MlpError {
    /// Fewer than two widths (input and output).
    #[error("an MLP needs at least an input and an output width, got {0} widths")]
    TooFewWidths(usize),
    /// A zero width.
    #[error("width {index} is 0; every layer needs at least one unit")]
    ZeroWidth {
        /// Position in the widths list.
        index: usize,
    },
    /// Cross-entropy with fewer than two classes.
    #[error("cross-entropy needs at least 2 outputs, got {0}")]
    TooFewClasses(usize),
    /// Invalid data for the network.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// A buffer (the data drawn for it) could not be allocated.
    #[error(transparent)]
    OutOfMemory(#[from] crate::memory::OutOfMemory),
}

/// The parameter ranges of one `Linear` layer in the index order: the shared dense layer's span
/// ([`Dense`]), whose passes the MLP chains.
pub type Layer = Dense;

/// An MLP architecture: widths `d, w_1, …, o` and a loss. Holds no parameters; the numerics
/// (the [`Model`](crate::model::Model) methods: forward, gradient, `hvp`, …) take them as a slice in the index order.
///
/// # Example
/// ```
/// # use peff::model::mlp::Mlp;
/// # use peff::model::{Dataset, Loss, Model, Targets};
/// let mlp = Mlp::new(&[3, 8, 8, 2], Loss::CrossEntropy)?;
/// assert_eq!(mlp.num_params(), 3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
/// let params: Vec<f64> = mlp.init_params(0);
/// let data = Dataset::new(&mlp, vec![0.5, -1.0, 2.0, 1.0, 0.0, -0.5], Targets::Classes(vec![0, 1]))?;
/// let mut ws = mlp.workspace(data.len());
/// let mut grad = vec![0.0; mlp.num_params()];
/// let loss = mlp.gradient(&params, data.batch(), 1.0, &mut ws, &mut grad);
/// assert!(loss > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    widths: Vec<usize>,
    loss: Loss,
    layers: Vec<Layer>,
}

impl Mlp {
    /// The MLP with the given widths (input first, output last) and loss.
    pub fn new(widths: &[usize], loss: Loss) -> Result<Self, MlpError> {
        if widths.len() < 2 {
            return Err(MlpError::TooFewWidths(widths.len()));
        }
        if let Some(index) = widths.iter().position(|&w| w == 0) {
            return Err(MlpError::ZeroWidth { index });
        }
        let outputs = widths[widths.len() - 1];
        if loss == Loss::CrossEntropy && outputs < 2 {
            return Err(MlpError::TooFewClasses(outputs));
        }
        let mut start = 0;
        let layers = widths
            .windows(2)
            .map(|w| {
                let layer = Dense::new(w[0], w[1], start);
                start = layer.bias.end;
                layer
            })
            .collect();
        Ok(Mlp {
            widths: widths.to_vec(),
            loss,
            layers,
        })
    }

    /// The toy network of SPEC §2 (`d-h-o`) as an MLP.
    pub fn from_toy(shape: &ToyShape) -> Result<Self, MlpError> {
        Mlp::new(&[shape.input_dim, shape.hidden, shape.outputs], shape.loss)
    }

    /// Widths `d, w_1, …, o`.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Input dimension `d`.
    pub fn input_dim(&self) -> usize {
        self.widths[0]
    }

    /// The `Linear` layers, input to output.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Largest width (buffer rows are sized by it).
    pub fn max_width(&self) -> usize {
        self.widths.iter().copied().max().unwrap_or(0)
    }

    /// Whether parameter `i` is a weight (not a bias).
    pub fn is_weight(&self, i: usize) -> bool {
        self.layers.iter().any(|l| l.weights.contains(&i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Model;

    #[test]
    fn index_order_matches_the_toy() {
        let shape = ToyShape {
            input_dim: 3,
            hidden: 4,
            outputs: 1,
            loss: Loss::Mse,
        };
        let mlp = Mlp::from_toy(&shape).unwrap();
        assert_eq!(mlp.num_params(), 21);
        assert_eq!(mlp.layers()[0].weights, 0..12);
        assert_eq!(mlp.layers()[0].bias, 12..16);
        assert_eq!(mlp.layers()[1].weights, 16..20);
        assert_eq!(mlp.layers()[1].bias, 20..21);
        assert_eq!(mlp.init_params(7), shape.init_params(7));
        assert!(mlp.is_weight(19) && !mlp.is_weight(20) && !mlp.is_weight(12));
        assert_eq!(mlp.weight_indices().len(), 16);
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(Mlp::new(&[3], Loss::Mse), Err(MlpError::TooFewWidths(1)));
        assert_eq!(
            Mlp::new(&[3, 0, 1], Loss::Mse),
            Err(MlpError::ZeroWidth { index: 1 })
        );
        assert_eq!(
            Mlp::new(&[3, 4, 1], Loss::CrossEntropy),
            Err(MlpError::TooFewClasses(1))
        );
    }

    #[test]
    fn init_bounds_follow_fan_in() {
        let mlp = Mlp::new(&[30, 100, 100, 2], Loss::CrossEntropy).unwrap();
        let p = mlp.init_params(3);
        for layer in mlp.layers() {
            let b = 1.0 / (layer.inputs as f64).sqrt();
            assert!(p[layer.weights.start..layer.bias.end]
                .iter()
                .all(|v| v.abs() < b));
        }
    }
}
