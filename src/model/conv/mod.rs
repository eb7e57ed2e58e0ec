//! The ConvNet of Fig. 1c (SPEC §7): Synaptic-Flow's `conv` model. `L` weight layers: `L − 1`
//! convolutions (3 × 3, stride 1, padding 1, ReLU; no pooling, no batch norm) with `N` channels,
//! then flatten and one `Linear` layer to the `o` classes; hand-written backprop and R-operator
//! Hessian-vector product on GEMM (im2col), generic over [`Scalar`](crate::model::Scalar) like the MLP
//! core, as a [`Model`](crate::model::Model).
//!
//! ```text
//! input C_0 × H × W (C_0 = C);  conv layer l = 1..L−1:  C_{l−1} → C_l = N channels
//! K_l = C_{l−1}·9,  kernel W_l: C_l × C_{l−1} × 3 × 3  (a C_l × K_l matrix),  bias b_l: C_l
//! col(A)  = im2col of one image A (C × H × W): a (C·9) × (H·W) matrix,
//!           col(A)[(c, ky, kx), (y, x)] = A[c, y + ky − 1, x + kx − 1]   (0 outside the image)
//! Z_l[i] = W_l col(A_{l−1}[i]) + b_l 1ᵀ,   A_l = relu(Z_l)       (per image i; A_0 = X)
//! F = flat(A_{L−1}) W_Lᵀ + 1 b_Lᵀ,  W_L: o × (N·H·W),  U = F / T (temperature T)
//! MSE:            ℓ_i = ½ Σ_o (U_io − Y_io)²
//! cross-entropy:  ℓ_i = logsumexp(U_i) − U_{i,c_i}
//! L(θ) = (1/n) Σ_i ℓ_i
//! ```
//!
//! The loss is the MLP core's (the same head, same conventions: MSE is half of PyTorch's for one
//! output, cross-entropy is `nn.CrossEntropyLoss`).
//!
//! **Layout.** Activations (and their deltas and R-counterparts) are point-major `rows × C × H ×
//! W` (PyTorch's NCHW): for one image, channel `c` is the `H·W` values of its plane, row-major, so
//! `Z_l[i]` is exactly the `C_l × H·W` GEMM output and `flat` is free. Inputs are the same:
//! `C·H·W` values per point, in PyTorch's `C, H, W` order.
//!
//! **Index order** (mask bit `i` is parameter `i`): layer by layer, for a convolution its kernel
//! `C_l × C_{l−1} × 3 × 3` row-major (PyTorch's `Conv2d.weight` layout: index
//! `((co·C_{l−1} + ci)·3 + ky)·3 + kx`), then its bias `C_l`; then the linear weight
//! `o × (N·H·W)` row-major, its column index the flatten in PyTorch's `C, H, W` order
//! (`(c·H + y)·W + x`), then its bias `o`. Prunable: every kernel and the linear weight, not the
//! biases ([`Model::weight_indices`](crate::model::Model::weight_indices)).
//!
//! **Init**: PyTorch's `Conv2d` / `Linear` default, every weight and bias of layer `l` drawn from
//! `U(±1/√fan_in)` with `fan_in = C_{l−1}·3·3` (linear: `N·H·W`), in index order from
//! `ChaCha8Rng::seed_from_u64(seed)`, as the MLP's init draws.
//!
//! **Derivatives** (`δ_l = ∂L/∂Z_l`, `relu'(z) = 1[z > 0]`; `col2im` is the adjoint of `col`,
//! scattering a `(C·9) × (H·W)` matrix back onto a `C × H × W` image by summing):
//!
//! ```text
//! δ_L = (1/(nT)) ℓ'(U)                        MSE: U − Y;  CE: softmax(U) − onehot(c)
//! ∇W_L = δ_Lᵀ flat(A_{L−1}),  ∇b_L = 1ᵀ δ_L,  δ_{L−1} = (δ_L W_L) ⊙ 1[Z_{L−1} > 0]
//! ∇W_l = Σ_i δ_l[i] col(A_{l−1}[i])ᵀ,  ∇b_l = Σ_i δ_l[i] 1
//! δ_{l−1}[i] = col2im(W_lᵀ δ_l[i]) ⊙ 1[Z_{l−1}[i] > 0]
//! ```
//!
//! and the exact Hessian-vector product by Pearlmutter's R-operator along `v = (V_l, v_l)`
//! (`col` is linear, so `R{col(A)} = col(R{A})`):
//!
//! ```text
//! R{A_0} = 0,  R{Z_l}[i] = W_l col(R{A_{l−1}}[i]) + V_l col(A_{l−1}[i]) + v_l 1ᵀ
//! R{A_l} = R{Z_l} ⊙ 1[Z_l > 0],  R{F} = flat(R{A_{L−1}}) W_Lᵀ + flat(A_{L−1}) V_Lᵀ + 1 v_Lᵀ
//! R{δ_L} = (1/(nT²)) ∇²ℓ(U) R{F}              MSE: R{F};  CE: s ⊙ (R{F} − ⟨s, R{F}⟩)
//! (Hv)_{W_l} = Σ_i R{δ_l}[i] col(A_{l−1}[i])ᵀ + δ_l[i] col(R{A_{l−1}}[i])ᵀ,  (Hv)_{b_l} = Σ_i R{δ_l}[i] 1
//! R{δ_{l−1}}[i] = col2im(W_lᵀ R{δ_l}[i] + V_lᵀ δ_l[i]) ⊙ 1[Z_{l−1}[i] > 0]
//! ```
//!
//! (for the linear layer the same with `flat` in place of `col` and no `col2im`).
//!
//! **Numerics.** The passes chain the shared layers ([`crate::model::layers::Conv3x3`] for the
//! convolutions, [`crate::model::layers::Dense`] for the linear layer). Every product is one [`Scalar::gemm`](crate::model::Scalar::gemm) call per image (per batch for the linear
//! layer); transposes are strides. One `(C·9) × (H·W)` column buffer serves every product in
//! turn: `col` is rebuilt per image in the backward pass rather than stored (it is 9 times the
//! activations). Biases and ReLU are fused into one pass, `1[Z > 0]` is read back from `A`, and
//! every buffer lives in a [`ConvWorkspace`] sized once for a batch capacity (R-buffers on the first
//! [`Model::hvp`](crate::model::Model::hvp)): no step allocates. Reductions run in a fixed order (images, then positions),
//! so results are bit-identical run to run.
//!
//! **Masks** as in the MLP core: a pruned weight is stored as 0 and its update is multiplied by 0;
//! under [`Model::set_mask`](crate::model::Model::set_mask) a convolution whose kept fraction is
//! below the threshold runs a direct convolution over its kept taps
//! ([`crate::model::sparse::SparseConv`]) and the linear layer its kept weights
//! ([`crate::model::sparse::SparseLinear`]), in place of im2col + GEMM.
//!
//! ## References
//! Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving
//! synaptic flow" (`conv` in its code's `Models/mlp.py`); Pearlmutter 1994, "Fast exact
//! multiplication by the Hessian".

mod core;

pub use self::core::ConvWorkspace;

use std::ops::Range;

use crate::model::layers::{Conv3x3, Dense};
use crate::model::Loss;

/// Most parameters a [`Conv`] may have (2²⁸, 1 GiB in `f32`).
pub const MAX_PARAMS: usize = 1 << 28;
/// Most activation values per point a [`Conv`] may hold, `Σ_l C_l·H·W` over the convolutions
/// (2²⁴, 64 MiB per point in `f32`; the paper's CIFAR net holds 98,304).
pub const MAX_ACTIVATIONS_PER_POINT: usize = 1 << 24;

/// Invalid ConvNet description; each message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvError {
    /// Fewer than two weight layers (a convolution and the linear layer).
    #[error("a ConvNet needs depth >= 2 (at least one convolution and the linear layer), got {0}")]
    Depth(usize),
    /// A zero size.
    #[error("{0} is 0; it must be at least 1")]
    ZeroSize(&'static str),
    /// Cross-entropy with fewer than two classes.
    #[error("cross-entropy needs at least 2 classes, got {0}")]
    TooFewClasses(usize),
    /// A network above a size limit.
    #[error("the ConvNet would have {value} {what}, above the limit of {max}")]
    TooLarge {
        /// `parameters` or `activation values per point`.
        what: &'static str,
        /// The count (computed in `u128`, so it cannot overflow).
        value: u128,
        /// The limit ([`MAX_PARAMS`] or [`MAX_ACTIVATIONS_PER_POINT`]).
        max: usize,
    },
}

/// One weight layer: a 3 × 3 convolution (`inputs` → `outputs` channels) or the final `Linear`
/// layer (`inputs` = `N·H·W` features → `outputs` classes), with its parameter ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvLayer {
    /// Input channels `C_{l−1}` (convolution) or input features `N·H·W` (linear).
    pub inputs: usize,
    /// Output channels `C_l` (convolution) or classes `o` (linear).
    pub outputs: usize,
    /// Fan-in: `C_{l−1}·9` (convolution) or `N·H·W` (linear); the row length of the weight
    /// matrix and the init bound's denominator.
    pub fan_in: usize,
    /// Indices of the kernel (`outputs × inputs × 3 × 3`) or weight (`outputs × inputs`), row-major.
    pub weights: Range<usize>,
    /// Indices of the bias (`outputs`).
    pub bias: Range<usize>,
}

/// A ConvNet architecture (module docs): input shape `C × H × W`, `depth` weight layers
/// (`depth − 1` convolutions of `channels` channels, then a linear layer), `classes` outputs and
/// a loss. Holds no parameters; the numerics take them as a slice in the index order.
///
/// # Example
/// ```
/// # use peff::model::{conv::Conv, Loss, Model};
/// // The paper's network on CIFAR-10 shapes: 3→32→32→32 convolutions, Linear(32·32·32 → 10).
/// let conv = Conv::new([3, 32, 32], 4, 32, 10, Loss::CrossEntropy)?;
/// assert_eq!(conv.num_params(), 347_082);
/// assert_eq!(conv.weight_indices().len(), 347_082 - 3 * 32 - 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    in_shape: [usize; 3],
    channels: usize,
    loss: Loss,
    layers: Vec<ConvLayer>,
    /// The convolutions' layer spans (the same ranges as `layers`), whose passes the network
    /// chains.
    convs: Vec<Conv3x3>,
    /// The linear layer's span.
    head: Dense,
}

impl Conv {
    /// The ConvNet on `in_shape = [C, H, W]` images with `depth` weight layers, `channels`
    /// channels per convolution, `classes` outputs and `loss` (default of the paper: depth 4,
    /// 32 channels).
    ///
    /// # Errors
    /// [`ConvError`]: depth below 2, a zero size, cross-entropy with fewer than 2 classes, or
    /// more than [`MAX_PARAMS`] parameters or [`MAX_ACTIVATIONS_PER_POINT`] activations.
    pub fn new(
        in_shape: [usize; 3],
        depth: usize,
        channels: usize,
        classes: usize,
        loss: Loss,
    ) -> Result<Self, ConvError> {
        if depth < 2 {
            return Err(ConvError::Depth(depth));
        }
        for (value, what) in [
            (in_shape[0], "the input channel count"),
            (in_shape[1], "the image height"),
            (in_shape[2], "the image width"),
            (channels, "the channel count"),
            (classes, "the class count"),
        ] {
            if value == 0 {
                return Err(ConvError::ZeroSize(what));
            }
        }
        if loss == Loss::CrossEntropy && classes < 2 {
            return Err(ConvError::TooFewClasses(classes));
        }
        // Sizes in u128 first, so that absurd shapes are refused rather than overflowing.
        let [c, h, w] = in_shape.map(|v| v as u128);
        let (n, o, convs) = (channels as u128, classes as u128, depth as u128 - 1);
        let plane = h * w;
        let activations = convs * n * plane;
        if activations > MAX_ACTIVATIONS_PER_POINT as u128 {
            return Err(ConvError::TooLarge {
                what: "activation values per point",
                value: activations,
                max: MAX_ACTIVATIONS_PER_POINT,
            });
        }
        let params = (n * c * 9 + n) + (convs - 1) * (n * n * 9 + n) + (o * n * plane + o);
        if params > MAX_PARAMS as u128 {
            return Err(ConvError::TooLarge {
                what: "parameters",
                value: params,
                max: MAX_PARAMS,
            });
        }
        let mut layers = Vec::with_capacity(depth);
        let mut start = 0;
        let mut push = |inputs: usize, outputs: usize, fan_in: usize| {
            let weights = start..start + outputs * fan_in;
            let bias = weights.end..weights.end + outputs;
            start = bias.end;
            layers.push(ConvLayer {
                inputs,
                outputs,
                fan_in,
                weights,
                bias,
            });
        };
        let mut prev = in_shape[0];
        for _ in 0..depth - 1 {
            push(prev, channels, prev * 9);
            prev = channels;
        }
        let features = channels * in_shape[1] * in_shape[2];
        push(features, classes, features);
        let hw = [in_shape[1], in_shape[2]];
        let convs = layers[..depth - 1]
            .iter()
            .map(|l| Conv3x3::new(l.inputs, l.outputs, hw, l.weights.start))
            .collect();
        let lin = &layers[depth - 1];
        let head = Dense::new(lin.inputs, lin.outputs, lin.weights.start);
        Ok(Conv {
            in_shape,
            channels,
            loss,
            layers,
            convs,
            head,
        })
    }

    /// Input shape `[C, H, W]`.
    pub fn in_shape(&self) -> [usize; 3] {
        self.in_shape
    }

    /// Number of weight layers `L` (convolutions and the linear layer).
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Channels `N` of every convolution.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Pixels per image plane, `H·W`.
    pub fn plane(&self) -> usize {
        self.in_shape[1] * self.in_shape[2]
    }

    /// The weight layers, input to output: `L − 1` convolutions, then the linear layer.
    pub fn layers(&self) -> &[ConvLayer] {
        &self.layers
    }

    /// The convolutions (all layers but the last).
    pub fn conv_layers(&self) -> &[ConvLayer] {
        &self.layers[..self.layers.len() - 1]
    }

    /// The final linear layer.
    pub fn linear_layer(&self) -> &ConvLayer {
        &self.layers[self.layers.len() - 1]
    }

    /// The convolutions as shared layer spans ([`Conv3x3`]; the ranges of
    /// [`Conv::conv_layers`]).
    pub fn conv_spans(&self) -> &[Conv3x3] {
        &self.convs
    }

    /// The linear layer as a shared layer span ([`Dense`]; the ranges of
    /// [`Conv::linear_layer`]).
    pub fn linear_span(&self) -> &Dense {
        &self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn paper_network_sizes_and_index_order() {
        let conv = Conv::new([3, 32, 32], 4, 32, 10, Loss::CrossEntropy).unwrap();
        let l = conv.layers();
        assert_eq!(l[0].weights, 0..864);
        assert_eq!(l[0].bias, 864..896);
        assert_eq!(l[1].weights, 896..896 + 9216);
        assert_eq!(l[2].bias.end, 896 + 2 * 9248);
        assert_eq!(l[3].weights.len(), 10 * 32 * 32 * 32);
        assert_eq!(conv.num_params(), 347_082);
        assert_eq!(conv.macs_per_point(), 20_086_784);
        let weights = conv.weight_indices();
        assert_eq!(weights.len(), 347_082 - 3 * 32 - 10);
        assert!(weights.windows(2).all(|w| w[0] < w[1]));
        assert!(!weights.contains(&864) && weights.contains(&863));
        let fashion = Conv::new([1, 28, 28], 4, 32, 10, Loss::CrossEntropy).unwrap();
        assert_eq!(
            fashion.num_params(),
            (288 + 32) + 2 * 9248 + 10 * 32 * 784 + 10
        );
    }

    #[test]
    fn init_bounds_follow_fan_in() {
        let conv = Conv::new([2, 5, 4], 3, 3, 4, Loss::Mse).unwrap();
        let p = conv.init_params(5);
        assert_eq!(p.len(), conv.num_params());
        assert_eq!(p, conv.init_params(5));
        for layer in conv.layers() {
            let b = 1.0 / (layer.fan_in as f64).sqrt();
            let vals = &p[layer.weights.start..layer.bias.end];
            assert!(vals.iter().all(|v| v.abs() < b));
            // Not all within half the bound: the bound is the layer's own, not a smaller one.
            assert!(vals.iter().any(|v| v.abs() > b / 2.0));
        }
        assert_eq!(conv.layers()[0].fan_in, 18);
        assert_eq!(conv.layers()[2].fan_in, 3 * 20);
    }

    #[test]
    fn rejects_bad_shapes() {
        let ce = Loss::CrossEntropy;
        assert_eq!(Conv::new([3, 8, 8], 1, 4, 10, ce), Err(ConvError::Depth(1)));
        assert_eq!(
            Conv::new([3, 0, 8], 2, 4, 10, ce),
            Err(ConvError::ZeroSize("the image height"))
        );
        assert_eq!(
            Conv::new([3, 8, 8], 2, 0, 10, ce),
            Err(ConvError::ZeroSize("the channel count"))
        );
        assert_eq!(
            Conv::new([3, 8, 8], 2, 4, 1, ce),
            Err(ConvError::TooFewClasses(1))
        );
        assert!(Conv::new([3, 8, 8], 2, 4, 1, Loss::Mse).is_ok());
        let err = Conv::new([3, 4096, 4096], 4, 32, 10, ce).unwrap_err();
        assert!(matches!(
            err,
            ConvError::TooLarge {
                what: "activation values per point",
                ..
            }
        ));
        assert!(err.to_string().contains("above the limit of 16777216"));
        let err = Conv::new([3, 512, 512], 2, 32, 100, ce).unwrap_err();
        assert!(matches!(
            err,
            ConvError::TooLarge {
                what: "parameters",
                ..
            }
        ));
        let huge = Conv::new([usize::MAX, usize::MAX, usize::MAX], 2, 1, 2, ce);
        assert!(matches!(huge, Err(ConvError::TooLarge { .. })));
    }
}
