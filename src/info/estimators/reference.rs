//! Reference values of the point estimators, computed independently of this crate (test only).
//! Each estimator's file checks its own column.

/// `|a − b| ≤ tol`.
pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Computed independently in Python with mpmath at 40 digits, straight from the published
/// formulas (the CWJ harmonic sums Σ 1/k and its literal bracket; Grassberger's G(n) with
/// mpmath.digamma; the jackknife over all N leave-one-out samples without grouping). The
/// scripts (peff scratch `ref/refs.py`) are not part of the crate.
/// Columns: plugin, miller_madow, chao_shen, chao_wang_jost, grassberger, jackknife (bits).
#[rustfmt::skip]
pub(super) const MPMATH: &[(&[u64], [f64; 6])] = &[
        (&[10, 5, 3, 1, 1], [1.842737648614, 1.987007152703, 2.087337542620, 2.052105814351, 2.181537929399, 2.067317930439]),
    (&[50, 30, 20], [1.485475297227, 1.499902247636, 1.485475297322, 1.500014436948, 1.485227118024, 1.500131494715]),
    (&[7, 1, 1, 2, 1, 4, 1, 2, 9, 1], [2.782780668666, 3.006647140528, 3.202102697997, 3.200965036428, 3.193198505133, 3.146671687338]),
    (&[1, 1, 1, 1, 1, 1], [2.584962500721, 3.186085434425, 5.540741444413, 4.700868004285, 4.417708677998, 3.900134529890]),
    (&[1, 2], [0.918295834054, 1.158745007536, 1.538269575548, 1.333333333333, 1.494115290146, 1.421554168830]),
    (&[100, 1], [0.080136047331, 0.087278101989, 0.131927134766, 0.088381176840, 0.098258243904, 0.094420394725]),
    (&[2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3], [3.323231428798, 3.804129775761, 4.521237819080, 4.563929901428, 4.393121401389, 4.216079191555]),
    (&[5], [0.0, 0.0, 0.0, 0.0, 0.307487496460, 0.0]),
    (&[1], [0.0, 0.0, 0.0, 0.0, 1.832746177277, 0.0]),
];

/// A count of 10^12, where the textbook forms lose every digit.
const N12: u64 = 1_000_000_000_000;

/// Computed independently with mpmath at 40 digits (the CWJ harmonic sums as
/// `digamma(N) − digamma(n)`, its tail as `x·lerchphi(x, 1, N)`, the jackknife as the
/// literal `N H − (N−1)/N Σ n_i H(n − e_i)`). With N ~ 1e12 the
/// textbook forms lose every digit in double precision; here plugin, Miller–Madow,
/// Chao–Shen and Chao–Wang–Jost keep 1e-12 relative accuracy, the jackknife 1e-15 bits
/// absolute (about 1e-6 relative when H ~ 1e-10 bits).
/// Columns: plugin, chao_wang_jost, jackknife, miller_madow, chao_shen (bits). Tolerance:
/// 1e-12 relative, the jackknife 1e-15 bits absolute.
#[rustfmt::skip]
pub(super) const LARGE_COUNTS: &[(&[u64], [f64; 5])] = &[
        (&[N12, 3, 2, 1, 1], [2.82385937752656e-10, 2.87313225494486e-10, 2.8697502803452e-10, 2.85271327834414e-10, 3.49852530479597e-10]),
    (&[N12, 1], [4.13058321794967e-11, 4.21385783567728e-11, 4.27485272203842e-11, 4.20271796999405e-11, 6.59479444977468e-11]),
    (&[N12 / 2, N12, 7, 1, 2, 2], [0.918295834366502, 0.918295834369269, 0.918295834369631, 0.918295834368906, 0.91829583439917]),
];

/// A point estimator in bits.
pub(super) type PointEstimator = fn(&[u64]) -> Result<f64, super::EstimateError>;
/// The tolerance for a reference value.
pub(super) type Tolerance = fn(f64) -> f64;

/// Checks column `mp` of [`MPMATH`] (to 1e-10 bits) and, if given, column `large` of
/// [`LARGE_COUNTS`] (to `large_tol(want)`) against `f`.
pub(super) fn check_columns(f: PointEstimator, mp: usize, large: Option<(usize, Tolerance)>) {
    for (counts, want) in MPMATH {
        let got = f(counts).unwrap();
        assert!(
            close(got, want[mp], 1e-10),
            "{counts:?}: got {got}, want {}",
            want[mp]
        );
    }
    if let Some((col, tol)) = large {
        for (counts, want) in LARGE_COUNTS {
            let got = f(counts).unwrap();
            let w = want[col];
            assert!(close(got, w, tol(w)), "{counts:?}: got {got:e}, want {w:e}");
        }
    }
}
