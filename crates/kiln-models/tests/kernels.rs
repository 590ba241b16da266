//! Kiln's own convolution, max-pool, linear, batch-norm and Adam kernels against Burn's
//! reference ops on flex: forward, input gradient, weight and bias gradients, over a grid of
//! shapes (batch 1 and odd sizes, channels 1/3/32, kernels 1/3/5, stride, padding, dilation). Tolerance: the largest
//! difference at most 1e-4 of the reference's largest magnitude (f32 sums in another order).
#![cfg(feature = "flex")]

use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Distribution, Tensor, module};
use kiln_models::{conv2d, kernels_active, max_pool2d};

const TOLERANCE: f32 = 1e-4;

fn device() -> Device {
    Device::flex().autodiff()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Fails with `what` when `got` and `want` differ by more than the tolerance.
fn assert_close(what: &str, got: Vec<f32>, want: Vec<f32>) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= TOLERANCE * scale,
        "{what}: max |diff| {worst} > {TOLERANCE} × {scale}"
    );
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

type Conv = fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>, ConvOptions<2>) -> Tensor<4>;

/// The output and the gradients of `x`, `weight` and `bias` under `sum(conv(..) · r)`.
fn conv_run(
    conv: Conv,
    (x, w, b, r): (&Tensor<4>, &Tensor<4>, &Tensor<1>, &Tensor<4>),
    options: &ConvOptions<2>,
) -> [Vec<f32>; 4] {
    let (x, w, b) = (
        x.clone().require_grad(),
        w.clone().require_grad(),
        b.clone().require_grad(),
    );
    let y = conv(x.clone(), w.clone(), Some(b.clone()), options.clone());
    let grads = (y.clone() * r.clone()).sum().backward();
    [
        values(y),
        values(x.grad(&grads).unwrap()),
        values(w.grad(&grads).unwrap()),
        values(b.grad(&grads).unwrap()),
    ]
}

#[test]
fn the_kernels_run_on_flex_with_and_without_autodiff() {
    assert!(kernels_active(&Device::flex()));
    assert!(kernels_active(&Device::flex().autodiff()));
}

#[test]
fn conv2d_matches_burn_forward_and_gradients() {
    let device = device();
    device.seed(3);
    // (batch, in, out, height, width, kernel, stride, padding, dilation)
    let cases = [
        (1, 1, 1, 5, 5, 1, 1, 0, 1),
        (1, 1, 32, 28, 28, 3, 1, 0, 1),
        (3, 1, 4, 7, 9, 3, 1, 0, 1),
        (3, 3, 5, 7, 9, 3, 1, 1, 1),
        (2, 3, 32, 9, 8, 5, 1, 2, 1),
        (5, 32, 7, 6, 6, 1, 1, 0, 1),
        (2, 32, 16, 11, 11, 3, 2, 1, 1),
        (3, 3, 8, 10, 7, 1, 2, 0, 1),
        (2, 4, 6, 12, 12, 3, 1, 2, 2),
        (1, 32, 64, 13, 13, 3, 1, 0, 1),
        (3, 5, 3, 8, 8, 5, 3, 1, 1),
        // narrowing or equal widths at stride 1: the input gradient as a transposed convolution
        (2, 16, 16, 9, 9, 3, 1, 1, 1),
        (3, 8, 5, 10, 7, 3, 1, 1, 2),
        (1, 6, 4, 8, 8, 5, 1, 2, 1),
        // kernels reaching past the image: offsets that only ever meet padding
        (1, 4, 4, 1, 8, 3, 1, 1, 1),
        (2, 3, 3, 1, 1, 5, 2, 2, 1),
        (1, 2, 3, 2, 1, 7, 2, 3, 1),
        // padding beyond d·(k−1) at stride 1: the input gradient folds back instead
        (2, 4, 3, 6, 6, 3, 1, 3, 1),
    ];
    for (n, cin, cout, h, w, k, s, p, d) in cases {
        let x = random([n, cin, h, w], &device);
        let wt = random([cout, cin, k, k], &device);
        let b = random([cout], &device);
        let options = ConvOptions::new([s, s], [p, p], [d, d], 1);
        assert_conv_matches_burn(
            &format!("batch {n}, {cin}→{cout}, {h}×{w}, k{k} s{s} p{p} d{d}"),
            (&x, &wt, &b),
            &options,
        );
    }
}

/// Kiln's convolution against Burn's, forward and backward under a random output gradient:
/// the output and the gradients of the input, the weight and the bias.
fn assert_conv_matches_burn(
    case: &str,
    (x, w, b): (&Tensor<4>, &Tensor<4>, &Tensor<1>),
    options: &ConvOptions<2>,
) {
    let probe = conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone());
    let r = random(probe.dims(), &x.device());
    let ours = conv_run(conv2d, (x, w, b, &r), options);
    let burn = conv_run(module::conv2d, (x, w, b, &r), options);
    let names = ["output", "d input", "d weight", "d bias"];
    for (what, (got, want)) in names.into_iter().zip(ours.into_iter().zip(burn)) {
        assert_close(&format!("{what} of {case}"), got, want);
    }
}

#[test]
fn conv2d_with_asymmetric_padding_and_no_bias_matches_burn() {
    let device = Device::flex();
    device.seed(4);
    let x = random([2, 3, 6, 7], &device);
    let w = random([4, 3, 3, 3], &device);
    let options = ConvOptions::new_with_padding([1, 2], [(0, 1), (2, 1)], [1, 1], 1);
    let ours = conv2d(x.clone(), w.clone(), None, options.clone());
    let burn = module::conv2d(x, w, None, options);
    assert_eq!(ours.dims(), burn.dims());
    assert_close("asymmetric padding", values(ours), values(burn));

    // At stride 1 and no wider than its input, the input gradient is a transposed convolution
    // whose padding mirrors this one's.
    let device = Device::flex().autodiff();
    let x = random([2, 4, 6, 7], &device);
    let w = random([3, 4, 3, 3], &device);
    let b = random([3], &device);
    let options = ConvOptions::new_with_padding([1, 1], [(0, 1), (2, 1)], [1, 1], 1);
    assert_conv_matches_burn("asymmetric padding at stride 1", (&x, &w, &b), &options);
}

#[test]
fn grouped_convolutions_fall_back_to_burn() {
    let device = Device::flex();
    let x = random([2, 4, 6, 6], &device);
    let w = random([6, 2, 3, 3], &device);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
    let ours = conv2d(x.clone(), w.clone(), None, options.clone());
    let burn = module::conv2d(x, w, None, options);
    assert_eq!(values(ours), values(burn));
}

#[test]
fn max_pool2d_matches_burn_forward_and_gradient() {
    let device = device();
    device.seed(5);
    // (batch, channels, height, width, kernel, stride, padding)
    let cases = [
        (1, 1, 4, 4, 2, 2, 0),
        (3, 32, 26, 26, 2, 2, 0),
        (2, 3, 7, 9, 2, 2, 0),
        (2, 3, 7, 9, 3, 2, 1),
        (1, 5, 8, 8, 3, 1, 1),
        (3, 2, 9, 6, 3, 3, 0),
        (2, 4, 11, 11, 5, 2, 2),
    ];
    // Each shape twice: random values, and values rounded to a few levels so windows hold
    // ties (the gradient goes to the first maximum in reading order, as in Burn).
    for ((n, c, h, w, k, s, p), ties) in cases
        .into_iter()
        .flat_map(|case| [(case, false), (case, true)])
    {
        let x = random([n, c, h, w], &device);
        let x = if ties { x.mul_scalar(1.5).round() } else { x };
        let run = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours {
                max_pool2d(x.clone(), [k, k], [s, s], [p, p])
            } else {
                module::max_pool2d(
                    x.clone(),
                    MaxPoolOptions {
                        kernel_size: [k, k],
                        stride: [s, s],
                        padding: [(p, p), (p, p)],
                        dilation: [1, 1],
                        ceil_mode: false,
                    },
                )
            };
            let r = Tensor::<4>::ones(y.dims(), &device).mul_scalar(0.5) + y.clone().detach();
            let grads = (y.clone() * r).sum().backward();
            (values(y), values(x.grad(&grads).unwrap()))
        };
        let ((y, dx), (y_ref, dx_ref)) = (run(true), run(false));
        let what = format!("batch {n}, {c} channels, {h}×{w}, k{k} s{s} p{p}, ties {ties}");
        assert_eq!(y, y_ref, "forward of {what}");
        assert_close(&format!("gradient of {what}"), dx, dx_ref);
    }
}

#[test]
fn the_fused_adam_step_matches_burns_adam() {
    use burn::optim::decay::WeightDecayConfig;
    use burn::optim::{AdamConfig, Optimizer};
    use kiln_models::{AdamStep, adam_step};

    let device = Device::flex();
    device.seed(6);
    // Small (one job) and large (split over the pool) parameters, with and without decay.
    for (len, decay) in [(1_000, 0.0), (100_000, 0.0), (50_000, 0.01)] {
        let burn = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay((decay > 0.0).then(|| WeightDecayConfig::new(decay)))
            .build();
        let (mut theirs, mut state) = (random([len], &device), None);
        let (mut ours, mut moments) = (theirs.clone(), None);
        for time in 1..=3 {
            let grad = random([len], &device);
            let lr = 1e-3 * time as f64;
            (theirs, state) = burn.step(lr, theirs, grad.clone(), state);
            let step = AdamStep {
                lr,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-8,
                weight_decay: decay,
                time,
            };
            let (p, m, v) = adam_step(ours, grad, moments, step);
            (ours, moments) = (p, Some((m, v)));
            let what = format!("{len} parameters, decay {decay}, step {time}");
            assert_close(&what, values(ours.clone()), values(theirs.clone()));
            let theirs_m = state.as_ref().unwrap().momentum.moment_1.clone();
            let ours_m = moments.as_ref().unwrap().0.clone();
            assert_close(
                &format!("first moment, {what}"),
                values(ours_m),
                values(theirs_m),
            );
        }
    }
}

#[test]
fn linear_matches_burn_forward_and_gradients() {
    use kiln_models::linear;

    let device = device();
    device.seed(7);
    // (batch, in, out): one row, odd sizes, and the benchmark MLP's first layer (split over
    // the pool).
    for (n, d_in, d_out) in [(1, 3, 2), (7, 13, 5), (33, 64, 17), (128, 784, 512)] {
        for with_bias in [true, false] {
            let x = random([n, d_in], &device).require_grad();
            let w = random([d_in, d_out], &device).require_grad();
            let b = random([d_out], &device).require_grad();
            let r = random([n, d_out], &device);
            let run = |ours: bool| {
                let bias = with_bias.then(|| b.clone());
                let y = if ours {
                    linear(x.clone(), w.clone(), bias)
                } else {
                    module::linear(x.clone(), w.clone(), bias)
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let mut out = vec![
                    values(y),
                    values(x.grad(&grads).unwrap()),
                    values(w.grad(&grads).unwrap()),
                ];
                if with_bias {
                    out.push(values(b.grad(&grads).unwrap()));
                }
                out
            };
            for (i, (got, want)) in run(true).into_iter().zip(run(false)).enumerate() {
                let what = ["output", "d input", "d weight", "d bias"][i];
                assert_close(
                    &format!("{what} of {n}×{d_in} → {d_out}, bias {with_bias}"),
                    got,
                    want,
                );
            }
        }
    }
}

#[test]
fn batch_norm_matches_burn_forward_gradients_and_running_statistics() {
    use burn::module::Param;
    use burn::nn::BatchNormConfig;
    use kiln_models::batch_norm_layer;

    let device = device();
    device.seed(11);
    // One value per channel (zero variance), odd sizes, and the residual CNN's first stage.
    for [n, c, h, w] in [[1, 2, 1, 1], [1, 3, 5, 5], [7, 32, 9, 9], [16, 16, 28, 28]] {
        let x = (random([n, c, h, w], &device) * 3.0 + 1.5).require_grad();
        let r = random([n, c, h, w], &device);
        let gamma = random([c], &device).require_grad();
        let beta = random([c], &device).require_grad();
        let run = |ours: bool| {
            // A layer of its own per run: clones of a layer share its running statistics.
            let mut norm = BatchNormConfig::new(c).init(&device);
            norm.gamma = Param::from_tensor(gamma.clone());
            norm.beta = Param::from_tensor(beta.clone());
            let y = if ours {
                batch_norm_layer(&norm, x.clone())
            } else {
                norm.forward(x.clone())
            };
            let grads = (y.clone() * r.clone()).sum().backward();
            vec![
                values(y),
                values(x.grad(&grads).unwrap()),
                values(gamma.grad(&grads).unwrap()),
                values(beta.grad(&grads).unwrap()),
                values(norm.running_mean.value()),
                values(norm.running_var.value()),
            ]
        };
        for (i, (got, want)) in run(true).into_iter().zip(run(false)).enumerate() {
            let what = [
                "output",
                "d input",
                "d gamma",
                "d beta",
                "running mean",
                "running var",
            ];
            assert_close(&format!("{} of {n}×{c}×{h}×{w}", what[i]), got, want);
        }
    }
    // Without autodiff (inference) it is Burn's module, with the running statistics.
    let plain = Device::flex();
    let x = random([4, 3, 6, 6], &plain);
    let norm = BatchNormConfig::new(3).init(&plain);
    assert_eq!(
        values(batch_norm_layer(&norm, x.clone())),
        values(norm.forward(x))
    );
}
