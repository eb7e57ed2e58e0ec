use peff::model::conv::Conv;
use peff::model::mlp::Mlp;
use peff::model::*;
use rand::{Rng, SeedableRng};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rho: f64 = args[2].parse().unwrap();
    let secs: f64 = args[3].parse().unwrap();
    if args[1] == "mlp" {
        run(&Mlp::new(&[784, 200, 200, 10], Loss::CrossEntropy).unwrap(), rho, secs);
    } else {
        run(&Conv::new([3, 32, 32], 4, 32, 10, Loss::CrossEntropy).unwrap(), rho, secs);
    }
}
fn run<M: Model + 'static>(m: &M, rho: f64, secs: f64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let b = 64;
    let x: Vec<f32> = (0..b * m.input_len()).map(|_| rng.random_range(0.0..1.0)).collect();
    let y: Vec<usize> = (0..b).map(|_| rng.random_range(0..10)).collect();
    let data = Dataset::new(m, x, Targets::Classes(y)).unwrap();
    let init = m.init_params(0);
    let w = m.weight_indices();
    let mut order = w.clone();
    order.sort_by(|&a, &b| init[b].abs().total_cmp(&init[a].abs()).then(a.cmp(&b)));
    let k = ((rho * w.len() as f64).ceil() as usize).max(1);
    let mut mask = vec![true; init.len()];
    for &i in &order[k..] { mask[i] = false; }
    if let Some(mlp) = (m as &dyn std::any::Any).downcast_ref::<Mlp>() { kept_per_layer(mlp, &mask); }
    let start: Vec<f32> = init.iter().map(|&v| v as f32).collect();
    let mut t = Trainer::<M, f32>::new(m, TrainConfig { batch_size: Some(b), ..TrainConfig::full_batch(Optimizer::adam(1e-3)) }, b);
    t.reset(&start, if rho < 1.0 { Some(&mask) } else { None });
    let t0 = std::time::Instant::now();
    let mut n = 0;
    while t0.elapsed().as_secs_f64() < secs { t.step(data.batch()); n += 1; }
    println!("{} steps/s", n as f64 / t0.elapsed().as_secs_f64());
}
#[allow(dead_code)]
fn kept_per_layer(m: &Mlp, mask: &[bool]) {
    for l in m.layers() { let k = mask[l.weights.clone()].iter().filter(|&&b| b).count(); eprintln!("layer {}x{}: kept {} ({:.3})", l.outputs, l.inputs, k, k as f64 / l.weights.len() as f64); }
}
