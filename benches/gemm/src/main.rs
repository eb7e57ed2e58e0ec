//! The dense path, measured (issue 26): single-threaded `f32` GEMM rates of `matrixmultiply`
//! (what peff uses) and the `gemm` crate on the GEMMs of one Adam step of peff's networks, in
//! peff's layout (row-major, one product per image) and, for the ConvNet, as one product over
//! the whole batch (`N = batch · H · W` columns instead of `H · W`).
//!
//! ```text
//! GFLOP/s = 2·m·n·k · calls / seconds   (median of 5 timings of ≥ 0.2 s each, the two
//!                                        libraries interleaved)
//! ConvNet layer l (C_in → C_out, plane P = H·W), batch B:
//!   forward       z = W · col        m = C_out, k = 9·C_in, n = P      (B calls; batched: 1, n = B·P)
//!   weight grad   dW += δ · colᵀ     m = C_out, k = P,      n = 9·C_in (B calls; batched: 1, k = B·P)
//!   input grad    dcol = Wᵀ · δ      m = 9·C_in, k = C_out, n = P      (B calls; batched: 1, n = B·P)
//! MLP layer (d_in → d_out), batch B:  z = x · Wᵀ (m = B, k = d_in, n = d_out), dW = δᵀ · x,
//!   dx = δ · W
//! ```
//!
//! Run: `cargo run --release --manifest-path benches/gemm/Cargo.toml` (prints a Markdown table
//! and the CPU's SIMD features).

use std::time::Instant;

/// One GEMM `C (m×n) = A (m×k) · B (k×n)` with explicit strides (row, column) for A and B.
#[derive(Clone, Copy)]
struct Shape {
    m: usize,
    n: usize,
    k: usize,
    /// A is stored transposed (`k × m`, row-major).
    a_t: bool,
    /// B is stored transposed (`n × k`, row-major).
    b_t: bool,
}

impl Shape {
    fn strides(&self) -> ((isize, isize), (isize, isize)) {
        let (m, n, k) = (self.m as isize, self.n as isize, self.k as isize);
        let a = if self.a_t { (1, m) } else { (k, 1) };
        let b = if self.b_t { (1, k) } else { (n, 1) };
        (a, b)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Lib {
    MatrixMultiply,
    Gemm,
}

fn run(lib: Lib, s: Shape, a: &[f32], b: &[f32], c: &mut [f32]) {
    let ((rsa, csa), (rsb, csb)) = s.strides();
    // SAFETY: the buffers hold m·k, k·n and m·n values and the strides stay inside them.
    unsafe {
        match lib {
            Lib::MatrixMultiply => matrixmultiply::sgemm(
                s.m,
                s.k,
                s.n,
                1.0,
                a.as_ptr(),
                rsa,
                csa,
                b.as_ptr(),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr(),
                s.n as isize,
                1,
            ),
            Lib::Gemm => gemm::gemm(
                s.m,
                s.n,
                s.k,
                c.as_mut_ptr(),
                1,
                s.n as isize,
                false,
                a.as_ptr(),
                csa,
                rsa,
                b.as_ptr(),
                csb,
                rsb,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            ),
        }
    }
}

/// GFLOP/s of `calls` products of shape `s` for each library: medians of 5 timings each,
/// interleaved (mm, gemm, mm, gemm, …) so that a change of load hits both.
fn rates(s: Shape, calls: usize) -> [f64; 2] {
    let a: Vec<f32> = (0..s.m * s.k)
        .map(|i| ((i % 7) as f32 - 3.0) * 0.1)
        .collect();
    let b: Vec<f32> = (0..s.k * s.n)
        .map(|i| ((i % 5) as f32 - 2.0) * 0.1)
        .collect();
    let mut c = vec![0.0f32; s.m * s.n];
    let flops = 2.0 * (s.m * s.n * s.k * calls) as f64;
    let mut timings = [Vec::new(), Vec::new()];
    for _ in 0..5 {
        for (lib, out) in [Lib::MatrixMultiply, Lib::Gemm]
            .into_iter()
            .zip(&mut timings)
        {
            let (mut reps, t) = (0usize, Instant::now());
            while reps == 0 || t.elapsed().as_secs_f64() < 0.2 {
                for _ in 0..calls {
                    run(lib, s, &a, &b, &mut c);
                }
                reps += 1;
            }
            out.push(flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    std::hint::black_box(&c);
    timings.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[2]
    })
}

/// Both libraries compute the same product on `s` (to f32 rounding): the strides are right.
fn assert_same_product(s: Shape) {
    let a: Vec<f32> = (0..s.m * s.k)
        .map(|i| ((i % 7) as f32 - 3.0) * 0.1)
        .collect();
    let b: Vec<f32> = (0..s.k * s.n)
        .map(|i| ((i % 5) as f32 - 2.0) * 0.1)
        .collect();
    let (mut c1, mut c2) = (vec![0.0f32; s.m * s.n], vec![1.0f32; s.m * s.n]);
    run(Lib::MatrixMultiply, s, &a, &b, &mut c1);
    run(Lib::Gemm, s, &a, &b, &mut c2);
    let scale = (s.k as f32).sqrt() * 1e-5;
    for (x, y) in c1.iter().zip(&c2) {
        assert!((x - y).abs() <= scale * (1.0 + x.abs()), "{x} vs {y}");
    }
}

fn main() {
    let features: Vec<&str> = [
        ("avx2", is_x86_feature_detected!("avx2")),
        ("fma", is_x86_feature_detected!("fma")),
        ("avx512f", is_x86_feature_detected!("avx512f")),
    ]
    .iter()
    .filter(|f| f.1)
    .map(|f| f.0)
    .collect();
    println!("CPU features: {}", features.join(" "));
    let batch = 64;
    println!(
        "\n| product | m × k × n | calls | matrixmultiply GFLOP/s | gemm GFLOP/s | gemm ÷ mm |"
    );
    println!("|---|---|---|---|---|---|");
    let mut rows: Vec<(String, Shape, usize)> = Vec::new();
    for (name, c_in, plane) in [("CIFAR", 3, 1024), ("FMNIST", 1, 784)] {
        for (layer, cin) in [(1, c_in), (2, 32)] {
            let k9 = 9 * cin;
            let per = |m, k, n, a_t, b_t| Shape { m, n, k, a_t, b_t };
            rows.push((
                format!("{name} conv{layer} forward"),
                per(32, k9, plane, false, false),
                batch,
            ));
            rows.push((
                format!("{name} conv{layer} forward, batched"),
                per(32, k9, plane * batch, false, false),
                1,
            ));
            rows.push((
                format!("{name} conv{layer} weight grad"),
                per(32, plane, k9, false, true),
                batch,
            ));
            rows.push((
                format!("{name} conv{layer} weight grad, batched"),
                per(32, plane * batch, k9, false, true),
                1,
            ));
            if layer > 1 {
                rows.push((
                    format!("{name} conv{layer} input grad"),
                    per(k9, 32, plane, true, false),
                    batch,
                ));
                rows.push((
                    format!("{name} conv{layer} input grad, batched"),
                    per(k9, 32, plane * batch, true, false),
                    1,
                ));
            }
        }
        let d = 32 * plane;
        rows.push((
            format!("{name} linear forward"),
            Shape {
                m: batch,
                n: 10,
                k: d,
                a_t: false,
                b_t: true,
            },
            1,
        ));
        rows.push((
            format!("{name} linear weight grad"),
            Shape {
                m: 10,
                n: d,
                k: batch,
                a_t: true,
                b_t: false,
            },
            1,
        ));
    }
    for (d_in, d_out) in [(784, 200), (200, 200)] {
        rows.push((
            format!("MLP {d_in}-{d_out} forward"),
            Shape {
                m: batch,
                n: d_out,
                k: d_in,
                a_t: false,
                b_t: true,
            },
            1,
        ));
        rows.push((
            format!("MLP {d_in}-{d_out} weight grad"),
            Shape {
                m: d_out,
                n: d_in,
                k: batch,
                a_t: true,
                b_t: false,
            },
            1,
        ));
        rows.push((
            format!("MLP {d_in}-{d_out} input grad"),
            Shape {
                m: batch,
                n: d_in,
                k: d_out,
                a_t: false,
                b_t: false,
            },
            1,
        ));
    }
    for (name, s, calls) in rows {
        assert_same_product(s);
        let [mm, g] = rates(s, calls);
        println!(
            "| {name} | {} × {} × {} | {calls} | {mm:.1} | {g:.1} | {:.2} |",
            s.m,
            s.k,
            s.n,
            g / mm
        );
    }
}
