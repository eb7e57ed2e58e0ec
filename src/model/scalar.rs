//! The floating-point type of the network cores: `f32` or `f64` behind one trait, dispatching matrix
//! products to `matrixmultiply`'s `sgemm` / `dgemm`.
//!
//! ```text
//! gemm:  C ← α · A B + β · C,   A: m×k, B: k×n, C: m×n, each with its own (row, column) strides
//! ```
//!
//! Strides make a transpose free: `Aᵀ` of a row-major `A` (`rs = cols, cs = 1`) is the same
//! memory read with `rs = 1, cs = cols`. With `β = 0`, `C` is not read (it may hold anything).

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar the MLP core runs in (`f32` or `f64`).
pub trait Scalar:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Name for reports (`"f32"` / `"f64"`).
    const NAME: &'static str;

    /// Conversion from `f64` (rounding to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Exact conversion to `f64`.
    fn to_f64(self) -> f64;
    /// `√self`.
    fn sqrt(self) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// `ln self`.
    fn ln(self) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
    /// Whether `self` is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// `self · a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// `C ← α · A B + β · C` (see the module docs); `a`, `b`, `c` are the (row, column) strides.
    ///
    /// # Panics
    /// If a matrix's extent under its strides does not fit its slice (strides must be ≥ 0).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, usize),
        b: (&[Self], usize, usize),
        beta: Self,
        c: (&mut [Self], usize, usize),
    );
}

/// Whether an `rows × cols` matrix with strides `(rs, cs)` lies inside a slice of `len`.
#[inline]
fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

macro_rules! impl_scalar {
    ($t:ty, $name:literal, $gemm:path) => {
        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;

            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }

            #[inline]
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: (&[Self], usize, usize),
                b: (&[Self], usize, usize),
                beta: Self,
                c: (&mut [Self], usize, usize),
            ) {
                assert!(fits(a.0.len(), m, k, a.1, a.2), "gemm: A out of bounds");
                assert!(fits(b.0.len(), k, n, b.1, b.2), "gemm: B out of bounds");
                assert!(fits(c.0.len(), m, n, c.1, c.2), "gemm: C out of bounds");
                if m == 0 || n == 0 {
                    return;
                }
                // SAFETY: the asserts above keep every element A[i,t], B[t,j], C[i,j] addressed
                // through the strides inside its slice; `c` is borrowed mutably, so it does not
                // alias `a` or `b`.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.0.as_ptr(),
                        a.1 as isize,
                        a.2 as isize,
                        b.0.as_ptr(),
                        b.1 as isize,
                        b.2 as isize,
                        beta,
                        c.0.as_mut_ptr(),
                        c.1 as isize,
                        c.2 as isize,
                    );
                }
            }
        }
    };
}

impl_scalar!(f32, "f32", matrixmultiply::sgemm);
impl_scalar!(f64, "f64", matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    /// A product with a transposed operand (by strides) equals the naive triple loop.
    #[test]
    fn gemm_with_transpose_by_strides() {
        // A: 2×3 row-major, B stored as 4×3 row-major and used as Bᵀ (3×4).
        let a: Vec<f64> = (0..6).map(|i| i as f64 + 1.0).collect();
        let b: Vec<f64> = (0..12).map(|i| (i as f64) * 0.5 - 2.0).collect();
        let mut c = vec![f64::NAN; 8];
        f64::gemm(2, 3, 4, 1.0, (&a, 3, 1), (&b, 1, 3), 0.0, (&mut c, 4, 1));
        for i in 0..2 {
            for j in 0..4 {
                let want: f64 = (0..3).map(|t| a[i * 3 + t] * b[j * 3 + t]).sum();
                assert!((c[i * 4 + j] - want).abs() < 1e-12);
            }
        }
        let mut c32 = vec![1.0f32; 8];
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        f32::gemm(
            2,
            3,
            4,
            2.0,
            (&a32, 3, 1),
            (&b32, 1, 3),
            1.0,
            (&mut c32, 4, 1),
        );
        for i in 0..2 {
            for j in 0..4 {
                let want: f64 =
                    1.0 + 2.0 * (0..3).map(|t| a[i * 3 + t] * b[j * 3 + t]).sum::<f64>();
                assert!((c32[i * 4 + j] as f64 - want).abs() < 1e-4);
            }
        }
    }

    #[test]
    #[should_panic(expected = "C out of bounds")]
    fn gemm_rejects_short_output() {
        let a = [1.0f64; 4];
        let mut c = [0.0f64; 3];
        f64::gemm(2, 2, 2, 1.0, (&a, 2, 1), (&a, 2, 1), 0.0, (&mut c, 2, 1));
    }
}
