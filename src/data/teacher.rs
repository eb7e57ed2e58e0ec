//! Student–teacher regression data for the noise-correlation experiment (SPEC §7, "Correlation
//! with noise"; the paper's Appendix B.1.3):
//!
//! ```text
//! teacher g: d-h_1-…-h_k-1 ReLU MLP, PyTorch default init (init seed: seed + 2^63, wrapping)
//! x_i ~ N(0, I_d)   (i = 1..n),   z_i ~ N(0, σ²)   (drawn once per seed, then fixed)
//! y_i = g(x_i) + z_i
//! μ-sample: M fresh inputs x'_j ~ N(0, I_d), drawn once per seed, for E_μ f ≈ (1/M) Σ_j f(x'_j)
//! ```
//!
//! Streams: `ChaCha8Rng::seed_from_u64(seed)` with `set_stream(1)` for the `x_i` (point-major),
//! `set_stream(2)` for the `z_i`, `set_stream(3)` for the μ-sample; the teacher's forward pass is
//! in `f64`. The student's init seed is `seed` itself ([`crate::model::mlp::Mlp::init_params`]),
//! so student and teacher are independent draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};

use crate::memory::{try_with_capacity, OutOfMemory};
use crate::model::mlp::{Mlp, MlpError};
use crate::model::{DatasetError, Loss, Model};

/// What to lower when a seed's data do not fit.
const LOWER: &str = "lower `--n`, `--mc`, `--d` or `--threads`";

/// What to draw: the teacher's widths and the sample sizes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TeacherSpec {
    /// Input dimension `d`.
    pub d: usize,
    /// Hidden widths of the teacher (SPEC §7: `[50, 50]`).
    pub teacher_hidden: Vec<usize>,
    /// Training points `n`.
    pub n: usize,
    /// Size `M` of the μ-sample for `E_μ f`.
    pub mc: usize,
    /// Label-noise variance `σ²` (SPEC §7: 1).
    pub noise_variance: f64,
}

/// One seed's data.
#[derive(Clone, Debug, PartialEq)]
pub struct TeacherData {
    /// Training inputs, point-major (`n × d`).
    pub x: Vec<f64>,
    /// Noisy labels `y_i = g(x_i) + z_i`.
    pub y: Vec<f64>,
    /// The label noise `z_i`.
    pub z: Vec<f64>,
    /// The μ-sample, point-major (`M × d`).
    pub mc: Vec<f64>,
}

impl TeacherSpec {
    /// The teacher network `d-h_1-…-h_k-1` (MSE).
    pub fn teacher(&self) -> Result<Mlp, MlpError> {
        let mut widths = vec![self.d];
        widths.extend(&self.teacher_hidden);
        widths.push(1);
        Mlp::new(&widths, Loss::Mse)
    }

    /// Draws seed `seed`'s data (module docs).
    pub fn generate(&self, seed: u64) -> Result<TeacherData, MlpError> {
        let teacher = self.teacher()?;
        let params = teacher.init_params(seed.wrapping_add(1 << 63));
        let stream = |s: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(s);
            rng
        };
        // The inputs and the μ-sample are the largest buffers of a run: allocated fallibly.
        let normals = |s: u64, len: usize, what: &str| -> Result<Vec<f64>, OutOfMemory> {
            let mut rng = stream(s);
            let mut v = try_with_capacity(len, what, LOWER)?;
            v.extend((0..len).map(|_| -> f64 { StandardNormal.sample(&mut rng) }));
            Ok(v)
        };
        let x = normals(1, self.n * self.d, "the training inputs of a seed")?;
        let noise = Normal::new(0.0, self.noise_variance.sqrt())
            .map_err(|_| DatasetError::NonFinite("label-noise standard deviation"))?;
        let mut zr = stream(2);
        let z: Vec<f64> = (0..self.n).map(|_| noise.sample(&mut zr)).collect();
        let mc = normals(3, self.mc * self.d, "the Monte-Carlo inputs of a seed")?;
        let mut g = vec![0.0; self.n];
        let mut ws = teacher.workspace(self.n.min(1024));
        teacher.evaluate(&params, &x, self.n, &mut ws, &mut g);
        let y = g.iter().zip(&z).map(|(g, z)| g + z).collect();
        Ok(TeacherData { x, y, z, mc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_teacher_plus_noise_and_seeds_differ() {
        let spec = TeacherSpec {
            d: 3,
            teacher_hidden: vec![4],
            n: 5,
            mc: 7,
            noise_variance: 1.0,
        };
        let a = spec.generate(1).unwrap();
        assert_eq!(
            (a.x.len(), a.y.len(), a.z.len(), a.mc.len()),
            (15, 5, 5, 21)
        );
        assert_eq!(a, spec.generate(1).unwrap());
        assert_ne!(a.z, spec.generate(2).unwrap().z);
        // A naive forward pass of the teacher gives y − z.
        let t = spec.teacher().unwrap();
        let p = t.init_params(1u64.wrapping_add(1 << 63));
        for i in 0..5 {
            let x = &a.x[i * 3..(i + 1) * 3];
            let h: Vec<f64> = (0..4)
                .map(|j| (p[12 + j] + (0..3).map(|k| p[j * 3 + k] * x[k]).sum::<f64>()).max(0.0))
                .collect();
            let g = p[20] + (0..4).map(|j| p[16 + j] * h[j]).sum::<f64>();
            assert!((a.y[i] - a.z[i] - g).abs() < 1e-12);
        }
    }
}
