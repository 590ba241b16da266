//! [`KilnOps`] on Burn's `flex` backend: contiguous `f32` views of the tensors into the slice
//! kernels of `conv` and `pool`; any case those do not cover goes to Flex's own ops.

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, TensorData};

use super::conv::{self, ConvShape};
use super::norm::{self, NormShape};
use super::pool::{self, PoolShape};
use super::{AdamStep, KilnOps};
use super::{adam, linear};

/// `t` as a contiguous `f32` tensor (a copy only when it is a strided view).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The elements of a tensor made by [`contiguous`].
fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("kiln kernels: a contiguous f32 tensor was prepared by `contiguous`")
}

/// `t` as a uniquely owned dense `f32` buffer to update in place (a copy when it is shared or
/// strided).
fn owned(t: FlexTensor) -> FlexTensor {
    let dense = t.is_unique()
        && t.layout().start_offset() == 0
        && t.is_contiguous()
        && t.bytes().len() == t.shape().num_elements() * size_of::<f32>();
    if dense {
        t
    } else {
        let shape = t.shape();
        let t = contiguous(t);
        FlexTensor::from_data(TensorData::new(values(&t).to_vec(), shape))
    }
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let shape = t.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// The batch norm's sizes for a tensor of `shape`, when it has elements.
fn norm_shape(shape: &burn::tensor::Shape) -> Option<NormShape> {
    let dims: Vec<usize> = (0..shape.num_dims()).map(|i| shape[i]).collect();
    NormShape::new(&dims)
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The convolution's sizes when Kiln's kernel covers it: `f32`, ungrouped, 4-D, non-empty.
fn conv_shape(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<ConvShape> {
    let covered = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && options.groups == 1
        && x.shape().num_dims() == 4
        && weight.shape().num_dims() == 4;
    if !covered || x.shape()[1] != weight.shape()[1] {
        return None;
    }
    ConvShape::new(
        dims4(x),
        dims4(weight),
        options.stride,
        options.padding,
        options.dilation,
    )
}

fn pool_shape(
    x: &FlexTensor,
    kernel_size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Option<PoolShape> {
    if x.dtype() != DType::F32 || x.shape().num_dims() != 4 {
        return None;
    }
    PoolShape::new(dims4(x), kernel_size, stride, padding)
}

/// Kiln's convolution, or Flex's where the kernel does not cover the case.
fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(s) = conv_shape(&x, &weight, &options) else {
        return <Flex as ModuleOps<Flex>>::conv2d(x, weight, bias, options);
    };
    let (x, weight) = (contiguous(x), contiguous(weight));
    let bias = bias.map(contiguous);
    let out = conv::forward(&s, values(&x), values(&weight), bias.as_ref().map(values));
    tensor(out, [s.batch, s.out_channels, s.out_height, s.out_width])
}

/// `lhs · rhs` (either stored transposed) plus `bias` per row, for 2-D `f32` operands; Flex's
/// own ops for anything else.
fn product(
    lhs: FlexTensor,
    rhs: FlexTensor,
    lhs_transposed: bool,
    rhs_transposed: bool,
    bias: Option<FlexTensor>,
) -> FlexTensor {
    let (ls, rs) = (lhs.shape(), rhs.shape());
    let (m, k) = if lhs_transposed {
        (ls[1], ls[0])
    } else {
        (ls[0], ls[1])
    };
    let (k2, n) = if rhs_transposed {
        (rs[1], rs[0])
    } else {
        (rs[0], rs[1])
    };
    let covered = ls.num_dims() == 2
        && rs.num_dims() == 2
        && k == k2
        && lhs.dtype() == DType::F32
        && rhs.dtype() == DType::F32
        && bias
            .as_ref()
            .is_none_or(|b| b.dtype() == DType::F32 && b.shape().num_elements() == n);
    if !covered {
        use burn::backend::ops::FloatTensorOps;
        let lhs = if lhs_transposed {
            lhs.transpose(0, 1)
        } else {
            lhs
        };
        let rhs = if rhs_transposed {
            rhs.transpose(0, 1)
        } else {
            rhs
        };
        let out = <Flex as FloatTensorOps<Flex>>::float_matmul(lhs, rhs);
        return match bias {
            Some(bias) => <Flex as FloatTensorOps<Flex>>::float_add(
                out,
                bias.reshape(burn::tensor::Shape::new([1, n])),
            ),
            None => out,
        };
    }
    let (lhs, rhs) = (contiguous(lhs), contiguous(rhs));
    let bias = bias.map(contiguous);
    let out = linear::product(
        values(&lhs),
        lhs_transposed,
        values(&rhs),
        rhs_transposed,
        m,
        k,
        n,
        bias.as_ref().map(values),
    );
    tensor(out, [m, n])
}

impl KilnOps for Flex {
    fn kiln_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        conv2d(x, weight, None, options)
    }

    fn kiln_conv2d_bias(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        conv2d(x, weight, Some(bias), options)
    }

    fn kiln_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(s) = conv_shape(&x, &weight, &options) else {
            return <Flex as ModuleOps<Flex>>::conv2d_x_backward(x, weight, output_grad, options);
        };
        let (weight, grad) = (contiguous(weight), contiguous(output_grad));
        let dx = conv::input_grad(&s, values(&weight), values(&grad));
        tensor(dx, [s.batch, s.in_channels, s.height, s.width])
    }

    fn kiln_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(s) = conv_shape(&x, &weight, &options) else {
            return <Flex as ModuleOps<Flex>>::conv2d_weight_backward(
                x,
                weight,
                output_grad,
                options,
            );
        };
        let (x, grad) = (contiguous(x), contiguous(output_grad));
        let dw = conv::weight_grad(&s, values(&x), values(&grad));
        tensor(dw, dims4(&weight))
    }

    fn kiln_conv2d_bias_backward(output_grad: FlexTensor) -> FlexTensor {
        let shape = output_grad.shape();
        if output_grad.dtype() != DType::F32 || shape.num_dims() != 4 {
            use burn::backend::ops::FloatTensorOps;
            let channels = shape[1];
            let sum = |t, dim| <Flex as FloatTensorOps<Flex>>::float_sum_dim(t, dim);
            let total = sum(sum(sum(output_grad, 0), 2), 3);
            return total.reshape(burn::tensor::Shape::new([channels]));
        }
        let [batch, channels, h, w] = dims4(&output_grad);
        let grad = contiguous(output_grad);
        let db = conv::bias_grad(batch, channels, h * w, values(&grad));
        tensor(db, [channels])
    }

    fn kiln_matmul(
        lhs: FlexTensor,
        rhs: FlexTensor,
        lhs_transposed: bool,
        rhs_transposed: bool,
    ) -> FlexTensor {
        product(lhs, rhs, lhs_transposed, rhs_transposed, None)
    }

    fn kiln_linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        product(x, weight, false, false, Some(bias))
    }

    fn kiln_linear_rows(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (xs, ws) = (x.shape(), weight.shape());
        let covered = xs.num_dims() == 2
            && ws.num_dims() == 2
            && xs[1] == ws[0]
            && [&x, &weight, &bias].iter().all(|t| t.dtype() == DType::F32)
            && bias.shape().num_elements() == ws[1];
        if !covered {
            return product(x, weight, false, false, Some(bias));
        }
        let ([m, k], n) = ([xs[0], xs[1]], ws[1]);
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let out = linear::rows_product(values(&x), values(&weight), m, k, n, Some(values(&bias)));
        tensor(out, [m, n])
    }

    fn kiln_max_pool2d(
        x: FlexTensor,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FlexTensor {
        let Some(s) = pool_shape(&x, kernel_size, stride, padding) else {
            return <Flex as ModuleOps<Flex>>::max_pool2d(
                x,
                kernel_size,
                stride,
                padding,
                [1, 1],
                false,
            );
        };
        let [batch, channels, _, _] = dims4(&x);
        let x = contiguous(x);
        let out = pool::forward(&s, values(&x));
        tensor(out, [batch, channels, s.out_height, s.out_width])
    }

    fn kiln_max_pool2d_backward(
        x: FlexTensor,
        output_grad: FlexTensor,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FlexTensor {
        let shape = dims4(&x);
        let Some(s) = pool_shape(&x, kernel_size, stride, padding) else {
            // Burn's backward wants the forward's indices: compute them again.
            let indices = <Flex as ModuleOps<Flex>>::max_pool2d_with_indices(
                x.clone(),
                kernel_size,
                stride,
                padding,
                [1, 1],
                false,
                burn::tensor::IntDType::I64,
            )
            .indices;
            return <Flex as ModuleOps<Flex>>::max_pool2d_with_indices_backward(
                x,
                kernel_size,
                stride,
                padding,
                [1, 1],
                false,
                output_grad,
                indices,
            )
            .x_grad;
        };
        let (x, grad) = (contiguous(x), contiguous(output_grad));
        let dx = pool::backward(&s, values(&x), values(&grad));
        tensor(dx, shape)
    }

    fn kiln_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let covered = [&x, &gamma, &beta].iter().all(|t| t.dtype() == DType::F32);
        let Some(s) = norm_shape(&shape).filter(|_| covered) else {
            let out = <Flex as ModuleOps<Flex>>::batch_norm_train(x, gamma, beta, epsilon);
            return (out.output, out.mean, out.variance);
        };
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (mean, variance) = norm::statistics(&s, values(&x));
        let out = norm::forward(
            &s,
            values(&x),
            values(&gamma),
            values(&beta),
            &mean,
            &variance,
            epsilon,
        );
        (
            FlexTensor::from_data(TensorData::new(out, shape)),
            tensor(mean, [s.channels]),
            tensor(variance, [s.channels]),
        )
    }

    fn kiln_batch_norm_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        output_grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let covered = [&x, &gamma, &mean, &variance, &output_grad]
            .iter()
            .all(|t| t.dtype() == DType::F32);
        let Some(s) = norm_shape(&shape).filter(|_| covered) else {
            let g = <Flex as ModuleOps<Flex>>::batch_norm_train_backward(
                x,
                gamma,
                mean,
                variance,
                epsilon,
                output_grad,
            );
            return (g.x_grad, g.gamma_grad, g.beta_grad);
        };
        let [x, gamma, mean, variance, grad] =
            [x, gamma, mean, variance, output_grad].map(contiguous);
        let (dx, dgamma, dbeta) = norm::backward(
            &s,
            values(&x),
            values(&gamma),
            values(&mean),
            values(&variance),
            epsilon,
            values(&grad),
        );
        (
            FlexTensor::from_data(TensorData::new(dx, shape)),
            tensor(dgamma, [s.channels]),
            tensor(dbeta, [s.channels]),
        )
    }

    fn kiln_adam_step(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        step: AdamStep,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let mut param = owned(param);
        let mut m1 = owned(moment_1);
        let mut m2 = owned(moment_2);
        let grad = contiguous(grad);
        adam::step(
            &step,
            param.storage_mut::<f32>(),
            values(&grad),
            m1.storage_mut::<f32>(),
            m2.storage_mut::<f32>(),
        );
        (param, m1, m2)
    }
}
