//! A pruned 3 × 3 convolution (stride 1, padding 1) as a direct convolution over its kept taps.
//!
//! ```text
//! one image: A: C_in × H × W,  kernel W: C_out × C_in × 3 × 3,  kept taps K = {(co, ci, ky, kx)}
//! padded plane  P[ci]: (H+2) × (W+2) rows of A[ci] with a zero border, flat, stride S = W + 2
//! wide output   Z̃[co][y·S + x]  (x < W valid; columns W, W+1 and the tail are scratch)
//! tap offset    o = ky·S + kx:   Z̃[co][f] += W_tap · P[ci][f + o]          (forward)
//!               P̃_grad[ci][f + o] += W_tap · δ̃[co][f]                        (input gradient)
//!               ∇W_tap = Σ_images Σ_f δ̃[co][f] · P[ci][f + o]                 (weight gradient)
//! ```
//!
//! with `δ̃` the output delta in the wide layout, zero at the scratch positions. Pixel `(y, x)`
//! of `A` sits at `P[(y + 1)·S + x + 1]`, and tap `(ky, kx)` of output `(y, x)` reads
//! `A[y + ky − 1, x + kx − 1]`, which is `P[y·S + x + ky·S + kx]`: every tap is one contiguous
//! `axpy` or dot product over the whole plane, with no bounds inside the loop. The input gradient
//! lands on the padded plane; its border (the zero padding) is dropped.

use super::{axpy, dot, Scalar, LANES};

/// The kept taps of one convolution and its plane geometry (module docs).
#[derive(Clone, Debug)]
pub struct SparseConv {
    inputs: usize,
    outputs: usize,
    h: usize,
    w: usize,
    /// Output channel `co`'s taps are `starts[co]..starts[co + 1]` of `channel` / `offset` /
    /// `index`.
    starts: Vec<usize>,
    /// Input channel of each kept tap.
    channel: Vec<usize>,
    /// Its offset `ky·(W + 2) + kx` in the padded plane.
    offset: Vec<usize>,
    /// Its parameter index.
    index: Vec<usize>,
}

impl SparseConv {
    /// The kept taps of the `outputs × inputs × 3 × 3` kernel stored from parameter `first`
    /// (PyTorch's layout) on `h × w` planes, under `mask` (indexed by parameter).
    pub fn new(
        inputs: usize,
        outputs: usize,
        [h, w]: [usize; 2],
        first: usize,
        mask: &[bool],
    ) -> Self {
        let s = w + 2;
        let mut starts = Vec::with_capacity(outputs + 1);
        starts.push(0);
        let (mut channel, mut offset, mut index) = (Vec::new(), Vec::new(), Vec::new());
        for co in 0..outputs {
            for ci in 0..inputs {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let i = first + ((co * inputs + ci) * 3 + ky) * 3 + kx;
                        if mask[i] {
                            channel.push(ci);
                            offset.push(ky * s + kx);
                            index.push(i);
                        }
                    }
                }
            }
            starts.push(index.len());
        }
        SparseConv {
            inputs,
            outputs,
            h,
            w,
            starts,
            channel,
            offset,
            index,
        }
    }

    /// Values of one wide plane (`H·(W + 2)` rounded up to whole accumulator chunks).
    pub fn wide_len(h: usize, w: usize) -> usize {
        (h * (w + 2)).next_multiple_of(LANES)
    }

    /// Values of one padded plane: a wide plane plus the largest tap offset.
    pub fn padded_len(h: usize, w: usize) -> usize {
        Self::wide_len(h, w) + 2 * (w + 2) + 2
    }

    /// `padded` (`C × padded_len`) ← the planes of `image` (`C × H × W`) inside a zero border.
    /// Only the interiors are written: the border must be zero (it stays so).
    pub fn pad<T: Scalar>(&self, image: &[T], padded: &mut [T]) {
        let (h, w) = (self.h, self.w);
        let (s, len) = (w + 2, Self::padded_len(h, w));
        for (c, plane) in image[..self.inputs * h * w].chunks_exact(h * w).enumerate() {
            let dst = &mut padded[c * len..(c + 1) * len];
            for (y, row) in plane.chunks_exact(w).enumerate() {
                copy_row(row, &mut dst[(y + 1) * s + 1..][..w]);
            }
        }
    }

    /// `z` (`C_out × H × W`, overwritten) ← the convolution of the padded input `padded`
    /// (`C_in × padded_len`, from [`SparseConv::pad`]) with the kept taps; `wide` is scratch of
    /// one wide plane.
    pub fn forward<T: Scalar>(&self, params: &[T], padded: &[T], wide: &mut [T], z: &mut [T]) {
        let (h, w) = (self.h, self.w);
        let (s, len, plen) = (w + 2, Self::wide_len(h, w), Self::padded_len(h, w));
        let acc = &mut wide[..len];
        for (co, out) in z[..self.outputs * h * w]
            .chunks_exact_mut(h * w)
            .enumerate()
        {
            acc.fill(T::ZERO);
            for e in self.starts[co]..self.starts[co + 1] {
                let src = &padded[self.channel[e] * plen + self.offset[e]..][..len];
                axpy(params[self.index[e]], src, acc);
            }
            for (y, row) in out.chunks_exact_mut(w).enumerate() {
                copy_row(&acc[y * s..y * s + w], row);
            }
        }
    }

    /// `wide` (`C_out × wide_len`) ← the output delta `delta` (`C_out × H × W`) in the wide
    /// layout, zero at the scratch positions.
    pub fn widen<T: Scalar>(&self, delta: &[T], wide: &mut [T]) {
        let (h, w) = (self.h, self.w);
        let (s, len) = (w + 2, Self::wide_len(h, w));
        for (d, dst) in delta[..self.outputs * h * w]
            .chunks_exact(h * w)
            .zip(wide.chunks_exact_mut(len))
        {
            dst.fill(T::ZERO);
            for (y, row) in d.chunks_exact(w).enumerate() {
                copy_row(row, &mut dst[y * s..y * s + w]);
            }
        }
    }

    /// `grad[i] += Σ_f δ̃[co][f] P[ci][f + o]` at each kept tap `i` for one image (the wide
    /// delta from [`SparseConv::widen`], the padded input from [`SparseConv::pad`]); `first`
    /// overwrites instead of adding. Entries at pruned taps are not written.
    pub fn weight_grad<T: Scalar>(&self, wide: &[T], padded: &[T], first: bool, grad: &mut [T]) {
        let (len, plen) = (
            Self::wide_len(self.h, self.w),
            Self::padded_len(self.h, self.w),
        );
        for co in 0..self.outputs {
            let d = &wide[co * len..][..len];
            for e in self.starts[co]..self.starts[co + 1] {
                let g = dot(d, &padded[self.channel[e] * plen + self.offset[e]..][..len]);
                let i = self.index[e];
                grad[i] = if first { g } else { grad[i] + g };
            }
        }
    }

    /// `input` (`C_in × H × W`, overwritten) ← the input gradient `Wᵀ ⋆ δ` of one image from
    /// its wide delta; `padded` is scratch of `C_in` padded planes (not the input's: its border
    /// receives the contributions that fall on the zero padding).
    pub fn input_grad<T: Scalar>(
        &self,
        params: &[T],
        wide: &[T],
        padded: &mut [T],
        input: &mut [T],
    ) {
        let (h, w) = (self.h, self.w);
        let (s, len, plen) = (w + 2, Self::wide_len(h, w), Self::padded_len(h, w));
        padded[..self.inputs * plen].fill(T::ZERO);
        for co in 0..self.outputs {
            let d = &wide[co * len..][..len];
            for e in self.starts[co]..self.starts[co + 1] {
                let dst = &mut padded[self.channel[e] * plen + self.offset[e]..][..len];
                axpy(params[self.index[e]], d, dst);
            }
        }
        for (c, plane) in input[..self.inputs * h * w]
            .chunks_exact_mut(h * w)
            .enumerate()
        {
            let src = &padded[c * plen..(c + 1) * plen];
            for (y, row) in plane.chunks_exact_mut(w).enumerate() {
                copy_row(&src[(y + 1) * s + 1..][..w], row);
            }
        }
    }
}

/// `dst ← src` for one image row, in register-sized pieces: rows are short (a few dozen
/// values), where a call to the C library's `memcpy` costs more than the copy.
#[inline(always)]
fn copy_row<T: Scalar>(src: &[T], dst: &mut [T]) {
    const PIECE: usize = 8;
    let mut d = dst.chunks_exact_mut(PIECE);
    let mut s = src.chunks_exact(PIECE);
    for (d, s) in (&mut d).zip(&mut s) {
        let piece: [T; PIECE] = s.try_into().expect("a piece");
        d.copy_from_slice(&piece);
    }
    for (d, &s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A naive convolution with the mask multiplied in, and its two adjoints, against the
    /// kernels (two images, so that the weight gradient accumulates).
    #[test]
    fn equals_the_naive_convolution_of_the_masked_kernel() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (cin, cout, h, w, first) = (3, 4, 5, 6, 2);
        let p = first + cout * cin * 9 + 4;
        let mask: Vec<bool> = (0..p).map(|_| rng.random_bool(0.4)).collect();
        let params: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
        let kw = |co: usize, ci: usize, ky: usize, kx: usize| {
            let i = first + ((co * cin + ci) * 3 + ky) * 3 + kx;
            if mask[i] {
                params[i]
            } else {
                0.0
            }
        };
        let at = |img: &[f64], c: usize, y: isize, x: isize| {
            if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                0.0
            } else {
                img[(c * h + y as usize) * w + x as usize]
            }
        };
        let conv = SparseConv::new(cin, cout, [h, w], first, &mask);
        let plen = SparseConv::padded_len(h, w);
        let wlen = SparseConv::wide_len(h, w);
        let mut padded = vec![0.0; cin * plen];
        let mut scratch = vec![f64::NAN; cin * plen];
        let mut wide = vec![0.0; cout * wlen];
        let mut grad = vec![f64::NAN; p];
        let mut want_grad = vec![0.0; p];
        for image in 0..2 {
            let a: Vec<f64> = (0..cin * h * w)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let d: Vec<f64> = (0..cout * h * w)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            conv.pad(&a, &mut padded);
            let mut z = vec![0.0; cout * h * w];
            conv.forward(&params, &padded, &mut wide, &mut z);
            conv.widen(&d, &mut wide);
            conv.weight_grad(&wide, &padded, image == 0, &mut grad);
            let mut g = vec![0.0; cin * h * w];
            conv.input_grad(&params, &wide, &mut scratch, &mut g);
            let mut want_g = vec![0.0; cin * h * w];
            for co in 0..cout {
                for y in 0..h {
                    for x in 0..w {
                        let mut s = 0.0;
                        for ci in 0..cin {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (sy, sx) = (
                                        y as isize + ky as isize - 1,
                                        x as isize + kx as isize - 1,
                                    );
                                    s += kw(co, ci, ky, kx) * at(&a, ci, sy, sx);
                                    let dv = d[(co * h + y) * w + x];
                                    want_grad[first + ((co * cin + ci) * 3 + ky) * 3 + kx] +=
                                        dv * at(&a, ci, sy, sx);
                                    if sy >= 0 && sx >= 0 && sy < h as isize && sx < w as isize {
                                        want_g[(ci * h + sy as usize) * w + sx as usize] +=
                                            kw(co, ci, ky, kx) * dv;
                                    }
                                }
                            }
                        }
                        assert!((z[(co * h + y) * w + x] - s).abs() < 1e-12);
                    }
                }
            }
            for (got, want) in g.iter().zip(&want_g) {
                assert!((got - want).abs() < 1e-12);
            }
        }
        for i in 0..p {
            let tap = i >= first && i < first + cout * cin * 9;
            if tap && mask[i] {
                assert!((grad[i] - want_grad[i]).abs() < 1e-12, "tap {i}");
            } else {
                assert!(grad[i].is_nan(), "entry {i} written");
            }
        }
    }
}
