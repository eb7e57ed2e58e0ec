//! Per-lane random streams of stochastic toy training, in structure-of-arrays across the `L`
//! lanes so that every draw vectorises: xoshiro256++ (Blackman and Vigna, 2018) per lane, seeded
//! from the run's ChaCha8 stream (`lanes::run_stream`, 4 words), and
//!
//! ```text
//! uniform on (0, 1]:   u = 1 − ⌊x / 2^12⌋ · 2^−52
//! uniform on [0, 1):   v = ⌊x / 2^12⌋ · 2^−52
//! index below b:       ⌊x · b / 2^64⌋          (Lemire's multiply-shift; bias ≤ b / 2^64)
//! normal pair:         r = √(−2 ln u),  (z1, z2) = (r cos 2πv, r sin 2πv)   (Box–Muller)
//! ```
//!
//! with `ln` and `sin`/`cos` written lane-wise (polynomials after exponent and quadrant
//! reduction, within 4 ulp of libm: tested), so that the same bits come out for every lane count.

use rand::RngCore;

use super::Lane;

/// xoshiro256++ state of every lane (`s[j][l]`: word `j` of lane `l`).
pub struct LaneStreams<const L: usize> {
    s: [[u64; L]; 4],
}

impl<const L: usize> LaneStreams<L> {
    /// Streams seeded by four words of each lane's generator (an all-zero state, which
    /// xoshiro cannot leave, becomes `s0 = 1`).
    pub fn new<R: RngCore>(lanes: &mut [R]) -> Self {
        assert_eq!(lanes.len(), L);
        let mut s = [[0u64; L]; 4];
        for (l, rng) in lanes.iter_mut().enumerate() {
            for word in &mut s {
                word[l] = rng.next_u64();
            }
            if s.iter().all(|w| w[l] == 0) {
                s[0][l] = 1;
            }
        }
        LaneStreams { s }
    }

    /// The next word of every lane.
    // Lane-wise loops over several arrays at once: they vectorise, and zips of four iterators
    // would not read better.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub fn next_words(&mut self) -> [u64; L] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; L];
        for l in 0..L {
            out[l] = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }

    /// An index in `[0, bound)` per lane (multiply-shift).
    #[inline(always)]
    pub fn below(&mut self, bound: u64) -> [u64; L] {
        let mut x = self.next_words();
        for x in &mut x {
            *x = ((u128::from(*x) * u128::from(bound)) >> 64) as u64;
        }
        x
    }

    /// Fills `out` with independent standard normals, `sd`-scaled, lane by lane; entries are
    /// made in pairs (an odd last entry uses the first of its pair).
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub fn normals(&mut self, sd: f64, out: &mut [Lane<L>]) {
        let mut i = 0;
        while i < out.len() {
            let (a, b) = (self.next_words(), self.next_words());
            let (mut c, mut s) = ([0.0; L], [0.0; L]);
            for l in 0..L {
                // `1.f` with the top 52 bits of a word as the fraction `f`: in [1, 2), without
                // an integer-to-float conversion (none vectorises on AVX2).
                let u = 2.0 - f64::from_bits(a[l] >> 12 | ONE);
                let v = f64::from_bits(b[l] >> 12 | ONE) - 1.0;
                let r = sd * (-2.0 * ln_unit(u)).sqrt();
                let (cos, sin) = cos_sin_turns(v);
                c[l] = r * cos;
                s[l] = r * sin;
            }
            out[i] = c;
            if i + 1 < out.len() {
                out[i + 1] = s;
            }
            i += 2;
        }
    }
}

/// The bits of 1.0.
const ONE: u64 = 0x3ff0_0000_0000_0000;

/// `ln x` for `x` in `(0, 1]` (normal floats): `x = 2^e · m`, `m ∈ [√½, √2)`,
/// `ln m = 2 atanh s = 2 Σ s^(2j+1)/(2j+1)`, `s = (m − 1)/(m + 1)`, `|s| < 0.172`.
#[inline(always)]
fn ln_unit(x: f64) -> f64 {
    const EXP_MASK: u64 = 0x7ff0_0000_0000_0000;
    // 2^52 as a float: `2^52 + j` for an integer j < 2^52 is exact, so a biased exponent
    // becomes a float without an integer-to-float conversion (none vectorises on AVX2).
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    let raw = f64::from_bits(((bits & EXP_MASK) >> 52) | TWO52.to_bits()) - TWO52;
    let m = f64::from_bits((bits & !EXP_MASK) | ONE);
    let high = m > std::f64::consts::SQRT_2;
    let (m, e) = if high {
        (m * 0.5, raw - 1022.0)
    } else {
        (m, raw - 1023.0)
    };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut poly: f64 = 1.0 / 21.0;
    for c in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        poly = poly.mul_add(z, 1.0 / c);
    }
    e.mul_add(std::f64::consts::LN_2, 2.0 * s * poly)
}

/// `(cos 2πv, sin 2πv)` for `v ∈ [0, 1)`: `4v = q + f` with `q` the nearest integer and
/// `|f| ≤ ½`, `a = f·π/2 ∈ [−π/4, π/4]`, Taylor polynomials of `cos a`, `sin a` to degree
/// 16/17, then rotated by the quadrant `q mod 4`.
#[inline(always)]
fn cos_sin_turns(v: f64) -> (f64, f64) {
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let t = 4.0 * v;
    let shifted = t + ROUND;
    let q = shifted.to_bits() & 3;
    let a = (t - (shifted - ROUND)) * std::f64::consts::FRAC_PI_2;
    let z = a * a;
    // sin a = a Σ (−z)^j / (2j+1)!,  cos a = Σ (−z)^j / (2j)!.
    let mut sin: f64 = 1.0 / 355_687_428_096_000.0; // 1/17!
    let mut cos: f64 = 1.0 / 20_922_789_888_000.0; // 1/16!
    let sin_c = [
        -1.0 / 1_307_674_368_000.0,
        1.0 / 6_227_020_800.0,
        -1.0 / 39_916_800.0,
        1.0 / 362_880.0,
        -1.0 / 5040.0,
        1.0 / 120.0,
        -1.0 / 6.0,
        1.0,
    ];
    let cos_c = [
        -1.0 / 87_178_291_200.0,
        1.0 / 479_001_600.0,
        -1.0 / 3_628_800.0,
        1.0 / 40_320.0,
        -1.0 / 720.0,
        1.0 / 24.0,
        -0.5,
        1.0,
    ];
    for (sc, cc) in sin_c.iter().zip(&cos_c) {
        sin = sin.mul_add(z, *sc);
        cos = cos.mul_add(z, *cc);
    }
    let (s, c) = (a * sin, cos);
    // Quadrants 0..3: (c, s), (−s, c), (−c, −s), (s, −c), by bit selects and sign flips
    // (branch-free, so that the lanes vectorise).
    let swap = 0u64.wrapping_sub(q & 1);
    let (sb, cb) = (s.to_bits(), c.to_bits());
    let cos_bits = (cb & !swap) | (sb & swap);
    let sin_bits = (sb & !swap) | (cb & swap);
    let flip_cos = ((q + 1) & 2) << 62;
    let flip_sin = (q & 2) << 62;
    (
        f64::from_bits(cos_bits ^ flip_cos),
        f64::from_bits(sin_bits ^ flip_sin),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The lane-wise ln, cos and sin agree with libm to a few ulp over their ranges; a wrong
    /// coefficient, a dropped term or a wrong quadrant would fail.
    #[test]
    fn ln_and_cos_sin_match_libm() {
        let mut worst_ln = 0.0f64;
        for i in 1..200_000u64 {
            let x = (i as f64 / 200_000.0).powi(7);
            if x < f64::MIN_POSITIVE {
                continue;
            }
            let (ours, libm) = (ln_unit(x), x.ln());
            worst_ln = worst_ln.max((ours - libm).abs() / libm.abs().max(1e-300));
        }
        assert!(worst_ln < 4.0 * f64::EPSILON, "ln: {worst_ln:e}");
        assert_eq!(ln_unit(1.0).to_bits(), 0.0f64.to_bits());
        let mut worst_trig = 0.0f64;
        for i in 0..100_000u64 {
            let v = i as f64 / 100_000.0;
            let (c, s) = cos_sin_turns(v);
            let a = std::f64::consts::TAU * v;
            worst_trig = worst_trig.max((c - a.cos()).abs()).max((s - a.sin()).abs());
        }
        assert!(worst_trig < 4.0 * f64::EPSILON, "trig: {worst_trig:e}");
    }

    /// Normals have the standard normal's first four moments and tail mass; lanes are
    /// independent of their neighbours (a lane's draws depend only on its own seed).
    #[test]
    fn normals_are_standard_and_lanes_independent() {
        let mut rngs: Vec<ChaCha8Rng> = (0..4).map(ChaCha8Rng::seed_from_u64).collect();
        let mut streams = LaneStreams::<4>::new(&mut rngs);
        let mut out = vec![[0.0; 4]; 21];
        let (mut m1, mut m2, mut m4, mut tail, mut count) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for _ in 0..20_000 {
            streams.normals(1.0, &mut out);
            for z in out.iter().flatten() {
                m1 += z;
                m2 += z * z;
                m4 += z * z * z * z;
                tail += f64::from(u8::from(z.abs() > 2.0));
                count += 1.0;
            }
        }
        let (m1, m2, m4, tail) = (m1 / count, m2 / count, m4 / count, tail / count);
        assert!(m1.abs() < 0.005, "mean {m1}");
        assert!((m2 - 1.0).abs() < 0.01, "variance {m2}");
        assert!((m4 - 3.0).abs() < 0.05, "fourth moment {m4}");
        assert!((tail - 0.0455).abs() < 0.002, "P(|z| > 2) = {tail}");
        // Lane 2 alone, seeded as before, gives lane 2's draws.
        let mut a: Vec<ChaCha8Rng> = (0..4).map(ChaCha8Rng::seed_from_u64).collect();
        let mut b: Vec<ChaCha8Rng> = [9, 9, 2, 9].map(ChaCha8Rng::seed_from_u64).to_vec();
        let (mut sa, mut sb) = (LaneStreams::<4>::new(&mut a), LaneStreams::<4>::new(&mut b));
        let (mut oa, mut ob) = (vec![[0.0; 4]; 5], vec![[0.0; 4]; 5]);
        for _ in 0..10 {
            sa.normals(0.3, &mut oa);
            sb.normals(0.3, &mut ob);
            assert!(oa
                .iter()
                .zip(&ob)
                .all(|(x, y)| x[2].to_bits() == y[2].to_bits()));
            assert_eq!(sa.below(6)[2], sb.below(6)[2]);
        }
    }
}
