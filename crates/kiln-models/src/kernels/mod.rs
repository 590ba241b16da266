//! Kiln's own CPU kernels for the ops that dominate a training step: 2-D convolution (forward
//! and the three gradients), max-pooling (forward, backward), matrix products for linear layers,
//! batch normalization in training mode (forward, backward) and the Adam update, brought to
//! Burn's `flex` device through Burn's backend-extension mechanism ([`KilnOps`]), with their own
//! backward pass under autodiff.
//!
//! [`conv2d`], [`max_pool2d`], [`linear`], [`batch_norm_layer`] and [`adam_step`] take Burn
//! tensors on any device: on `flex` (with or without autodiff) and `f32` they run Kiln's
//! kernels; anywhere else (wgpu, cuda, cpu, ndarray, other dtypes, grouped convolutions, dilated
//! or ceil-mode pools, inference-mode batch norm) they call Burn's own ops, so every backend
//! keeps working and gives the same numbers to rounding.
//!
//! The kernels use rayon's global pool: all cores by default, `RAYON_NUM_THREADS=n` to limit them
//! (gemm's threads come from the same pool).

#[cfg(feature = "flex")]
mod adam;
mod adam_step;
mod allocator;
#[cfg(feature = "flex")]
mod autodiff;
#[cfg(feature = "flex")]
mod conv;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod gemm;
#[cfg(feature = "flex")]
mod linear;
#[cfg(feature = "flex")]
mod norm;
#[cfg(feature = "flex")]
mod pool;
#[cfg(feature = "flex")]
mod simd;

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamState, AdaptiveMomentumState, Optimizer};
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

pub use adam_step::AdamStep;
pub use allocator::keep_freed_memory;

#[cfg(feature = "flex")]
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::tensor::DType;

/// The ops Kiln implements itself, as a Burn backend extension: on `Flex` with Kiln's kernels,
/// on `Autodiff<B>` with a hand-written backward pass over `B`'s. Call them through
/// [`conv2d`], [`max_pool2d`], [`linear`], [`batch_norm_layer`] and [`adam_step`], which pick
/// Burn's ops on the devices this does not cover.
#[cfg(feature = "flex")]
#[backend_extension(Flex, Autodiff)]
pub trait KilnOps: Backend {
    /// 2-D convolution of `x` `[batch, in, h, w]` with `weight` `[out, in, kh, kw]`.
    fn kiln_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// [`kiln_conv2d`](Self::kiln_conv2d) plus `bias` `[out]` per output channel.
    fn kiln_conv2d_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// The gradient of [`kiln_conv2d`](Self::kiln_conv2d) with respect to `x`.
    fn kiln_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// The gradient of [`kiln_conv2d`](Self::kiln_conv2d) with respect to `weight`.
    fn kiln_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// The gradient of [`kiln_conv2d_bias`](Self::kiln_conv2d_bias) with respect to `bias`: the
    /// output gradient `[batch, out, oh, ow]` summed per output channel.
    fn kiln_conv2d_bias_backward(output_grad: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `lhs · rhs` of two matrices, either stored transposed (`[k, m]` for `lhs`, `[n, k]` for
    /// `rhs`).
    fn kiln_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        lhs_transposed: bool,
        rhs_transposed: bool,
    ) -> FloatTensor<Self>;

    /// A fully connected layer: `x` `[batch, in]` · `weight` `[in, out]` + `bias` `[out]`.
    fn kiln_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// [`kiln_linear`](Self::kiln_linear) for inference: each row's outputs summed in one
    /// fixed order, so they are the same bits whatever rows share its batch (a request served
    /// alone and the same row in `kiln predict`'s batch).
    fn kiln_linear_rows(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// 2-D max-pooling (dilation 1, floor mode) of `x` `[batch, channels, h, w]`.
    fn kiln_max_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The gradient of [`kiln_max_pool2d`](Self::kiln_max_pool2d) with respect to `x`.
    fn kiln_max_pool2d_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;

    /// Batch normalization of `x` `[batch, channels, ...]` with the batch's own statistics:
    /// `(output, mean, variance)`, the mean and biased variance per channel, as Burn's
    /// `batch_norm_train`.
    fn kiln_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The gradients `(x, gamma, beta)` of [`kiln_batch_norm_train`](Self::kiln_batch_norm_train)
    /// given its statistics and the output's gradient.
    fn kiln_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// One Adam step: `(param, first moment, second moment)` after it (moments zero before the
    /// first step).
    fn kiln_adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// One Adam step on one parameter, as Burn's `Adam` computes it (burn-optim 0.22; no AMSGrad):
/// returns the parameter and the two moments after the step; `moments` is `None` on the first.
/// Where [`kernels_active`] and the tensors are `f32` it is one fused multi-threaded pass over
/// the elements (in place where the buffers are not shared); elsewhere it is burn-optim's `Adam`.
pub fn adam_step<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moments: Option<(Tensor<D>, Tensor<D>)>,
    step: AdamStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    #[cfg(feature = "flex")]
    if param.dtype() == DType::F32
        && grad.dtype() == DType::F32
        && moments
            .as_ref()
            .is_none_or(|(m, v)| m.dtype() == DType::F32 && v.dtype() == DType::F32)
        && kernels_active(&param.device())
    {
        let (m, v) = moments.unwrap_or_else(|| (param.zeros_like(), param.zeros_like()));
        let (m, v) = (m.into_dispatch(), v.into_dispatch());
        let (p, m, v) = <Dispatch as KilnOps>::kiln_adam_step(
            param.into_dispatch(),
            grad.into_dispatch(),
            m,
            v,
            step,
        );
        return (
            Tensor::from_dispatch(p),
            Tensor::from_dispatch(m),
            Tensor::from_dispatch(v),
        );
    }
    // Elsewhere, burn-optim's own Adam, given the same settings and state.
    let adam = AdamConfig::new()
        .with_beta_1(step.beta_1)
        .with_beta_2(step.beta_2)
        .with_epsilon(step.epsilon)
        .with_weight_decay(
            (step.weight_decay != 0.0).then(|| WeightDecayConfig::new(step.weight_decay)),
        )
        .build();
    let state = moments.map(|(moment_1, moment_2)| {
        let time = step.time.saturating_sub(1);
        AdamState::new(AdaptiveMomentumState::new(time, moment_1, moment_2))
    });
    let (param, state) = adam.step(step.lr, param, grad, state);
    let momentum = state
        .expect("burn-optim's Adam returns its state after every step")
        .momentum;
    (param, momentum.moment_1, momentum.moment_2)
}

/// Whether [`conv2d`] and [`max_pool2d`] run Kiln's kernels on `device` (Burn's `flex`, with or
/// without autodiff, in a build with the `flex` feature) rather than Burn's ops.
pub fn kernels_active(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        use burn::backend::DispatchDevice;
        match device.as_dispatch() {
            DispatchDevice::Flex(_) => true,
            DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// 2-D convolution, as [`burn::tensor::module::conv2d`]: Kiln's kernels where
/// [`kernels_active`] and the convolution is ungrouped `f32`, Burn's op otherwise.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if options.groups == 1
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && x.dims()[1] == weight.dims()[1]
        && kernels_active(&x.device())
    {
        let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
        return Tensor::from_dispatch(match bias {
            Some(bias) => {
                <Dispatch as KilnOps>::kiln_conv2d_bias(x, weight, bias.into_dispatch(), options)
            }
            None => <Dispatch as KilnOps>::kiln_conv2d(x, weight, options),
        });
    }
    module::conv2d(x, weight, bias, options)
}

/// 2-D max-pooling with dilation 1 in floor mode, as [`burn::tensor::module::max_pool2d`]:
/// Kiln's kernels where [`kernels_active`] and `x` is `f32`, Burn's op otherwise.
pub fn max_pool2d(
    x: Tensor<4>,
    kernel_size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if x.dtype() == DType::F32
        && pool::PoolShape::new(x.dims(), kernel_size, stride, padding).is_some()
        && kernels_active(&x.device())
    {
        return Tensor::from_dispatch(<Dispatch as KilnOps>::kiln_max_pool2d(
            x.into_dispatch(),
            kernel_size,
            stride,
            padding,
        ));
    }
    module::max_pool2d(
        x,
        MaxPoolOptions {
            kernel_size,
            stride,
            padding: padding.map(|p| (p, p)),
            dilation: [1, 1],
            ceil_mode: false,
        },
    )
}

/// A fully connected layer on a batch of rows, as [`burn::tensor::module::linear`]: `x`
/// `[batch, in]` · `weight` `[in, out]` (+ `bias` `[out]`). Kiln's kernels where
/// [`kernels_active`] and the tensors are `f32`, Burn's op otherwise. In training (an autodiff
/// device) one GEMM over all cores with the bias accumulated into it, the backward pass two
/// GEMMs and a column sum; in inference a product that sums each output in a fixed order, so
/// that a row's outputs do not depend on the rows batched with it (`kiln serve` answers a
/// request alone with the bits `kiln predict` gives the row in a batch).
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && x.dims()[1] == weight.dims()[0]
        && kernels_active(&x.device())
    {
        if !x.device().is_autodiff() {
            let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[1]], &x.device()));
            return Tensor::from_dispatch(<Dispatch as KilnOps>::kiln_linear_rows(
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
            ));
        }
        let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
        return Tensor::from_dispatch(match bias {
            Some(bias) => <Dispatch as KilnOps>::kiln_linear(x, weight, bias.into_dispatch()),
            None => <Dispatch as KilnOps>::kiln_matmul(x, weight, false, false),
        });
    }
    module::linear(x, weight, bias)
}

/// `layer.forward(x)` through [`linear`]: the same parameters, records and output.
pub fn linear_layer(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    linear(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// `conv.forward(x)` through [`conv2d`]: the same parameters, records and output.
pub fn conv2d_layer(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        // Burn works out `Same` from the input size; leave it to Burn.
        PaddingConfig2d::Same => return conv.forward(x),
    };
    let options = ConvOptions {
        stride: conv.stride,
        padding,
        dilation: conv.dilation,
        groups: conv.groups,
    };
    conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// `pool.forward(x)` through [`max_pool2d`] where the pool has dilation 1, floor mode and
/// symmetric explicit (or no) padding; Burn's module otherwise.
pub fn max_pool2d_layer(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match pool.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        _ => return pool.forward(x),
    };
    if pool.dilation != [1, 1] || pool.ceil_mode {
        return pool.forward(x);
    }
    max_pool2d(x, pool.kernel_size, pool.stride, padding)
}

/// `norm.forward(x)` for `x` `[batch, channels, height, width]`: the same parameters, records,
/// output and running statistics. In training (an autodiff device and a trainable layer) on
/// [`kernels_active`] devices with `f32` tensors, the batch statistics and both passes are
/// Kiln's kernels (per-plane sums in place, no layout copies); the running mean and variance
/// are then updated exactly as Burn's `BatchNorm::forward` does. Otherwise Burn's module.
pub fn batch_norm_layer(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if x.device().is_autodiff()
        && norm.training.is_enabled()
        && x.dtype() == DType::F32
        && norm.gamma.dtype() == DType::F32
        && x.dims()[1] == norm.gamma.dims()[0]
        && norm::NormShape::new(&x.dims()).is_some()
        && kernels_active(&x.device())
    {
        let device = x.device();
        let (output, mean, variance) = <Dispatch as KilnOps>::kiln_batch_norm_train(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.beta.val().into_dispatch(),
            norm.epsilon,
        );
        let (mean, variance): (Tensor<1>, Tensor<1>) =
            (Tensor::from_dispatch(mean), Tensor::from_dispatch(variance));
        // As burn-nn 0.22's `BatchNorm::forward_train`.
        let running_mean = norm.running_mean.value_sync().to_device(&device);
        let running_var = norm.running_var.value_sync().to_device(&device);
        let running_mean = running_mean
            .mul_scalar(1.0 - norm.momentum)
            .add(mean.detach().mul_scalar(norm.momentum));
        let running_var = running_var
            .mul_scalar(1.0 - norm.momentum)
            .add(variance.detach().mul_scalar(norm.momentum));
        norm.running_mean.update(running_mean.detach());
        norm.running_var.update(running_var.detach());
        return Tensor::from_dispatch(output);
    }
    norm.forward(x)
}
