//! The layers every network is a sequence of: a dense (`Linear`) layer ([`Dense`]) and a 3 × 3
//! convolution ([`Conv3x3`]), each a *layer span* (where its weight and bias sit in the flat
//! parameter vector, and its shape) with four passes on a batch: forward, backward, and the two
//! halves of Pearlmutter's R-operator (the Hessian-vector product).
//!
//! ```text
//! layer with input A, weights θ = (W, b), output Z (A_out = relu(Z) for a hidden layer):
//! forward      Z = W a + b                                       (per point / per image)
//! backward     δ_in = Wᵀ δ ⊙ 1[A > 0],   ∇W = δ aᵀ,   ∇b = Σ δ   (summed over the batch)
//! R-forward    R{Z} = V a + W R{a} + v_b,   R{A_out} = R{Z} ⊙ 1[A_out > 0]
//! R-backward   (Hv)_W = R{δ} aᵀ + δ R{a}ᵀ,   (Hv)_b = Σ R{δ},
//!              R{δ_in} = (Wᵀ R{δ} + Vᵀ δ) ⊙ 1[A > 0]
//! ```
//!
//! For the convolution `a` is an image's column matrix `col(A)` (im2col) and `Wᵀ δ` is scattered
//! back by `col2im`; each module gives its layer's formulas in its own layout. A network
//! ([`crate::model::mlp`], [`crate::model::conv`]) holds its layers' spans, chains their
//! calls, and owns the buffers (activations, deltas, their R-counterparts, scratch) in its
//! workspace, sized once: a layer call allocates nothing.
//!
//! **Sparse kernels.** [`Dense::sparse_kernel`] and [`Conv3x3::sparse_kernel`] decide from a
//! mask (in [`Model::set_mask`](crate::model::Model::set_mask)) whether a layer runs its kernel
//! over the kept weights ([`crate::model::sparse`]); a forward or backward call given that
//! kernel ([`SparseDense`], [`SparseConv3x3`]) runs it in place of the GEMMs. The R-operator
//! halves are always dense.
//!
//! **Numerics.** Each call runs the same GEMMs ([`crate::model::Scalar::gemm`]) and loops, in
//! the same order, for every network that uses it, so a network's results depend only on its
//! sequence of layers.

mod conv3x3;
mod dense;
mod im2col;

pub use self::conv3x3::{Conv3x3, SparseConv3x3};
pub use self::dense::{Dense, SparseDense};
