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
//! workspace, sized once: a layer call allocates nothing. Its forward and backward passes over
//! the chain (the crate's `Backprop` trait) give SynFlow's gradient, written once here.
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

/// A network's two passes over its chain of layers, on its workspace: what a network adds to
/// its layers, and all that [`synflow_gradient`] needs.
pub(crate) trait Backprop: crate::model::Model {
    /// Forward pass of `rows` points (point-major `x`) into the workspace, through the sparse
    /// kernels set by [`Model::set_mask`](crate::model::Model::set_mask) when `sparse` (else
    /// dense throughout); returns the outputs `F` (`rows × o`).
    fn forward_pass<'w, T: crate::model::Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &'w mut Self::Workspace<T>,
        sparse: bool,
    ) -> &'w [T];

    /// Backward pass from the output delta `δ_L` (the head buffer of
    /// [`ModelWorkspace::head_buffers`](crate::model::ModelWorkspace::head_buffers)): the
    /// gradient into `grad` (index order), through the sparse kernels when `sparse` (after a
    /// sparse [`Backprop::forward_pass`] of the same batch).
    fn backward<T: crate::model::Scalar>(
        &self,
        params: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Self::Workspace<T>,
        grad: &mut [T],
        sparse: bool,
    );
}

/// Gradient of SynFlow's objective `S = Σ_o f_o(1)` (one all-ones input point) at `params`
/// into `out`, dense; returns `S`: a forward pass, `δ_L = 1`, a backward pass. Data-free;
/// `relu'(z) = 1[z > 0]`.
pub(crate) fn synflow_gradient<M: Backprop, T: crate::model::Scalar>(
    model: &M,
    params: &[T],
    ws: &mut M::Workspace<T>,
    out: &mut [T],
) -> f64 {
    use crate::model::ModelWorkspace;
    assert_eq!(out.len(), model.num_params(), "gradient length");
    let ones = vec![T::ONE; model.input_len()];
    let s = model
        .forward_pass(params, &ones, 1, ws, false)
        .iter()
        .map(|v| v.to_f64())
        .sum();
    ws.head_buffers(1).1.fill(T::ONE);
    model.backward(params, &ones, 1, ws, out, false);
    s
}

/// The R-backward pass's walk over a chain of `count` layers, last to first. Layer `l` is
/// handed its input `A_{l−1}` (`x` for the first layer) and `R{A_{l−1}}` (none for the first),
/// its output's `δ` and `R{δ}` (`delta` and `r_delta` on entry), and the buffers for its
/// `δ_in` and `R{δ_in}` (none for the first layer), which become the next layer's `δ` and
/// `R{δ}`: `layer(l, A, R{A}, δ, R{δ}, (R{δ_in}, δ_in))`, the arguments of
/// [`Dense::r_backward`] and [`Conv3x3::r_backward`].
#[allow(clippy::type_complexity)] // The layer call's own arguments, spelled out.
pub(crate) fn r_backward_chain<T: crate::model::Scalar>(
    count: usize,
    x: &[T],
    acts: &[Vec<T>],
    r_acts: &[Vec<T>],
    [mut cur, mut next]: [&mut [T]; 2],
    [mut r_cur, mut r_next]: [&mut [T]; 2],
    mut layer: impl FnMut(usize, &[T], Option<&[T]>, &[T], &[T], Option<(&mut [T], &mut [T])>),
) {
    for l in (0..count).rev() {
        let input: &[T] = if l == 0 { x } else { &acts[l - 1] };
        let r_input = (l > 0).then(|| &r_acts[l - 1][..]);
        let input_grads = (l > 0).then_some((&mut *r_next, &mut *next));
        layer(l, input, r_input, cur, r_cur, input_grads);
        if l > 0 {
            std::mem::swap(&mut cur, &mut next);
            std::mem::swap(&mut r_cur, &mut r_next);
        }
    }
}
