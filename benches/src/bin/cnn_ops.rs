//! Where the benchmark CNN's training step spends its time, op by op, on one device: each
//! layer's forward alone and forward + backward, at batch 128 (milliseconds, median of 10).
//! The figures behind docs/performance.md's breakdown and the upstream report.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin cnn_ops
//! cargo run --release -p kiln-benches --bin cnn_ops -- wgpu
//! ```

use std::time::Instant;

use kiln::burn::nn::conv::Conv2dConfig;
use kiln::burn::nn::pool::MaxPool2dConfig;
use kiln::burn::tensor::activation::relu;
use kiln::burn::tensor::{Device, Distribution, Tensor};
use kiln_benches::median;

/// Median milliseconds of 10 runs of `f` after 2 warm-up runs.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut runs: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    median(&runs)
}

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "flex".into());
    let plain: Device = kiln::backend::device(&name)?;
    let device = plain.clone().autodiff();
    let pool = MaxPool2dConfig::new([2, 2]).init();
    println!("device {name}, batch 128; ms per call (median of 10)");
    println!("{:<34} {:>9} {:>12}", "op", "forward", "fwd + bwd");
    // (label, input channels, output channels, input size) of the two conv stages.
    for (stage, (cin, cout, size)) in [(1, 32, 28), (32, 64, 13)].into_iter().enumerate() {
        let conv = Conv2dConfig::new([cin, cout], [3, 3]).init(&device);
        let conv_plain = Conv2dConfig::new([cin, cout], [3, 3]).init(&plain);
        let x: Tensor<4> =
            Tensor::random([128, cin, size, size], Distribution::Default, &device).require_grad();
        let xp: Tensor<4> = x.clone().inner();
        let fwd = time(|| {
            std::hint::black_box(conv_plain.forward(xp.clone()).sum().into_scalar::<f32>());
        });
        let both = time(|| {
            let g = conv.forward(x.clone()).sum().backward();
            drop(x.grad(&g));
        });
        let label = format!("conv{} {cin}→{cout} 3×3 on {size}×{size}", stage + 1);
        println!("{label:<34} {fwd:>9.2} {both:>12.2}");
        let out = size - 2;
        let y: Tensor<4> =
            Tensor::random([128, cout, out, out], Distribution::Default, &device).require_grad();
        let yp: Tensor<4> = y.clone().inner();
        let fwd = time(|| {
            std::hint::black_box(pool.forward(yp.clone()).sum().into_scalar::<f32>());
        });
        let both = time(|| {
            let g = pool.forward(y.clone()).sum().backward();
            drop(y.grad(&g));
        });
        let label = format!("max-pool 2×2 on {cout}×{out}×{out}");
        println!("{label:<34} {fwd:>9.2} {both:>12.2}");
        let strided = |t: Tensor<4>| {
            let e = out / 2 * 2;
            let part = |i: usize, j: usize| {
                t.clone()
                    .slice(kiln::burn::tensor::s![.., .., i..e;2, j..e;2])
            };
            part(0, 0)
                .max_pair(part(0, 1))
                .max_pair(part(1, 0).max_pair(part(1, 1)))
        };
        let fwd = time(|| {
            std::hint::black_box(strided(yp.clone()).sum().into_scalar::<f32>());
        });
        let both = time(|| {
            let g = strided(y.clone()).sum().backward();
            drop(y.grad(&g));
        });
        let label = "  as 4 strided slices + max_pair";
        println!("{label:<34} {fwd:>9.2} {both:>12.2}");
        let fwd = time(|| {
            std::hint::black_box(relu(yp.clone()).sum().into_scalar::<f32>());
        });
        let both = time(|| {
            let g = relu(y.clone()).sum().backward();
            drop(y.grad(&g));
        });
        let label = format!("relu on {cout}×{out}×{out} (reference)");
        println!("{label:<34} {fwd:>9.2} {both:>12.2}");
    }
    Ok(())
}
