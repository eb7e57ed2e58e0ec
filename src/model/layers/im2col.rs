//! The column matrix of a 3 × 3, stride-1, padding-1 convolution and its adjoint.
//!
//! ```text
//! im2col:  col[(c, ky, kx), (y, x)] = A[c, y + ky − 1, x + kx − 1]   (0 outside the image)
//! col2im:  A[c, y', x'] = Σ_{ky, kx} col[(c, ky, kx), (y' − ky + 1, x' − kx + 1)]   (in-image terms)
//! ```
//!
//! `A` is one image `C × H × W` (row-major), `col` a `(C·9) × (H·W)` row-major matrix whose row
//! `c·9 + ky·3 + kx` matches a PyTorch kernel's column in `W: C_out × (C·9)`. `col2im` is the
//! transpose of `im2col` as a linear map, so `⟨im2col(A), G⟩ = ⟨A, col2im(G)⟩`; it sums the
//! nine contributions to a pixel in the fixed order `ky, kx` (per channel, rows in order).

use crate::model::Scalar;

/// `col ← im2col(a)` for one `c × h × w` image (`col` holds at least `c·9·h·w` values).
pub(super) fn im2col<T: Scalar>(a: &[T], c: usize, h: usize, w: usize, col: &mut [T]) {
    let hw = h * w;
    let col = &mut col[..c * 9 * hw];
    for (ch, plane) in a[..c * hw].chunks_exact(hw).enumerate() {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut col[(ch * 9 + ky * 3 + kx) * hw..][..hw];
                for (y, out) in row.chunks_exact_mut(w).enumerate() {
                    let sy = y + ky;
                    if sy == 0 || sy > h {
                        out.fill(T::ZERO);
                        continue;
                    }
                    let src = &plane[(sy - 1) * w..sy * w];
                    match kx {
                        0 => {
                            out[0] = T::ZERO;
                            out[1..].copy_from_slice(&src[..w - 1]);
                        }
                        1 => out.copy_from_slice(src),
                        _ => {
                            out[..w - 1].copy_from_slice(&src[1..]);
                            out[w - 1] = T::ZERO;
                        }
                    }
                }
            }
        }
    }
}

/// `a ← col2im(col)` for one `c × h × w` image (`a` is overwritten).
pub(super) fn col2im<T: Scalar>(col: &[T], c: usize, h: usize, w: usize, a: &mut [T]) {
    let hw = h * w;
    let a = &mut a[..c * hw];
    a.fill(T::ZERO);
    for (ch, plane) in a.chunks_exact_mut(hw).enumerate() {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &col[(ch * 9 + ky * 3 + kx) * hw..][..hw];
                for (y, g) in row.chunks_exact(w).enumerate() {
                    let sy = y + ky;
                    if sy == 0 || sy > h {
                        continue;
                    }
                    let dst = &mut plane[(sy - 1) * w..sy * w];
                    let (dst, g) = match kx {
                        0 => (&mut dst[..w - 1], &g[1..]),
                        1 => (dst, g),
                        _ => (&mut dst[1..], &g[..w - 1]),
                    };
                    for (d, &g) in dst.iter_mut().zip(g) {
                        *d += g;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn naive(a: &[f64], c: usize, h: usize, w: usize) -> Vec<f64> {
        let mut col = vec![0.0; c * 9 * h * w];
        for ch in 0..c {
            for k in 0..9 {
                for y in 0..h {
                    for x in 0..w {
                        let (sy, sx) = (
                            y as isize + k as isize / 3 - 1,
                            x as isize + k as isize % 3 - 1,
                        );
                        if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w {
                            col[(ch * 9 + k) * h * w + y * w + x] =
                                a[ch * h * w + sy as usize * w + sx as usize];
                        }
                    }
                }
            }
        }
        col
    }

    /// `im2col` equals the definition on every shape from 1 × 1 up (edges, single rows and
    /// columns), and `col2im` is its adjoint: `⟨im2col(A), G⟩ = ⟨A, col2im(G)⟩`.
    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_adjoint() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (c, h, w) in [
            (1, 1, 1),
            (2, 1, 4),
            (1, 5, 1),
            (3, 4, 5),
            (2, 2, 2),
            (1, 6, 3),
        ] {
            let a: Vec<f64> = (0..c * h * w)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let mut col = vec![f64::NAN; c * 9 * h * w];
            im2col(&a, c, h, w, &mut col);
            assert_eq!(col, naive(&a, c, h, w), "{c}×{h}×{w}");
            let g: Vec<f64> = (0..col.len())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let mut back = vec![f64::NAN; c * h * w];
            col2im(&g, c, h, w, &mut back);
            let lhs: f64 = col.iter().zip(&g).map(|(x, y)| x * y).sum();
            let rhs: f64 = a.iter().zip(&back).map(|(x, y)| x * y).sum();
            assert!((lhs - rhs).abs() < 1e-12, "{c}×{h}×{w}: {lhs} vs {rhs}");
            // The adjoint identity pins col2im down: check it against each unit vector too.
            for i in 0..a.len() {
                let mut e = vec![0.0; a.len()];
                e[i] = 1.0;
                let col_e = naive(&e, c, h, w);
                let want: f64 = col_e.iter().zip(&g).map(|(x, y)| x * y).sum();
                assert!((back[i] - want).abs() < 1e-12);
            }
        }
    }
}
