//! Where the benchmark CNN's training step spends its time, op by op, on one device: each
//! layer's forward alone and forward + backward at batch 128 (milliseconds, median of 10), for
//! Burn's own op and for Kiln's kernel (`kiln::models::{conv2d, max_pool2d}`: Kiln's kernels on
//! `flex`, Burn's op elsewhere). The figures behind docs/performance.md's op table.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin cnn_ops
//! cargo run --release -p kiln-benches --bin cnn_ops -- wgpu
//! ```

use std::time::Instant;

use kiln::burn::tensor::activation::relu;
use kiln::burn::tensor::module;
use kiln::burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use kiln::burn::tensor::{Device, Distribution, Tensor};
use kiln::models::{conv2d, max_pool2d};
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

/// Forward alone (on the plain device) and forward + backward (under autodiff) of `op`.
fn measure(op: impl Fn(Tensor<4>) -> Tensor<4>, x: &Tensor<4>) -> (f64, f64) {
    let plain = x.clone().inner();
    let fwd = time(|| {
        std::hint::black_box(op(plain.clone()).sum().into_scalar::<f32>());
    });
    let both = time(|| {
        let g = op(x.clone()).sum().backward();
        drop(x.grad(&g));
    });
    (fwd, both)
}

fn row(label: &str, burn: (f64, f64), kiln: (f64, f64)) {
    println!(
        "{label:<28} {:>8.2} {:>10.2} {:>8.2} {:>10.2} {:>6.1}x",
        burn.0,
        burn.1,
        kiln.0,
        kiln.1,
        burn.1 / kiln.1
    );
}

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "flex".into());
    let device = kiln::backend::device(&name)?.autodiff();
    // As the trainer does on flex: freed buffers are reused, not page-faulted in again.
    kiln::models::keep_freed_memory();
    println!("device {name}, batch 128; ms per call (median of 10)");
    println!(
        "{:<28} {:>8} {:>10} {:>8} {:>10} {:>7}",
        "op", "burn fwd", "burn f+b", "kiln fwd", "kiln f+b", "f+b"
    );
    let pool_options = MaxPoolOptions {
        kernel_size: [2, 2],
        stride: [2, 2],
        padding: [(0, 0), (0, 0)],
        dilation: [1, 1],
        ceil_mode: false,
    };
    // (input channels, output channels, input size) of the two conv stages.
    for (stage, (cin, cout, size)) in [(1, 32, 28), (32, 64, 13)].into_iter().enumerate() {
        let label = format!("conv{} {cin}→{cout} 3×3 on {size}²", stage + 1);
        conv_row(&device, &label, (cin, cout, size), 1, 0);
        let out = size - 2;
        let y: Tensor<4> =
            Tensor::random([128, cout, out, out], Distribution::Default, &device).require_grad();
        let burn = measure(|y| module::max_pool2d(y, pool_options.clone()), &y);
        let kiln = measure(|y| max_pool2d(y, [2, 2], [2, 2], [0, 0]), &y);
        row(&format!("max-pool 2×2 on {cout}×{out}²"), burn, kiln);
        let r = measure(relu, &y);
        row(&format!("relu on {cout}×{out}² (ref.)"), r, r);
    }
    // The residual CNN's 3×3 convolutions (padding 1; the stage-opening ones at stride 2).
    for (cin, cout, size, stride) in [
        (16, 16, 28, 1),
        (16, 32, 28, 2),
        (32, 32, 14, 1),
        (64, 64, 7, 1),
    ] {
        let label = format!("res {cin}→{cout} 3×3 s{stride} on {size}²");
        conv_row(&device, &label, (cin, cout, size), stride, 1);
    }
    Ok(())
}

/// Times Burn's and Kiln's 3×3 convolution (with bias) on a batch of 128 and prints the row.
fn conv_row(
    device: &Device,
    label: &str,
    (cin, cout, size): (usize, usize, usize),
    stride: usize,
    padding: usize,
) {
    let w: Tensor<4> =
        Tensor::random([cout, cin, 3, 3], Distribution::Default, device).require_grad();
    let b: Tensor<1> = Tensor::random([cout], Distribution::Default, device).require_grad();
    let x: Tensor<4> =
        Tensor::random([128, cin, size, size], Distribution::Default, device).require_grad();
    let options = ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1);
    // Weights live under autodiff; the forward-only run uses their plain values.
    let on = |t: &Tensor<4>, x: &Tensor<4>| {
        if x.device().is_autodiff() {
            t.clone()
        } else {
            t.clone().inner()
        }
    };
    let bias = |x: &Tensor<4>| {
        if x.device().is_autodiff() {
            b.clone()
        } else {
            b.clone().inner()
        }
    };
    let burn = measure(
        |x| module::conv2d(x.clone(), on(&w, &x), Some(bias(&x)), options.clone()),
        &x,
    );
    let kiln = measure(
        |x| conv2d(x.clone(), on(&w, &x), Some(bias(&x)), options.clone()),
        &x,
    );
    row(label, burn, kiln);
}
