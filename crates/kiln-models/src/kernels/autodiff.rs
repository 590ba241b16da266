//! [`KilnOps`] under autodiff: the forward ops record a hand-written backward step that calls
//! the inner backend's gradient kernels. The convolution keeps `x` and `weight` for its
//! backward; the max-pool keeps only `x` and finds each window's maximum again.

use burn::backend::TensorMetadata;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend};
use burn::tensor::Shape;
use burn::tensor::ops::ConvOptions;

use super::{AdamStep, KilnOps};

#[derive(Debug)]
struct Conv2dWithBias;
#[derive(Debug)]
struct Conv2dNoBias;
#[derive(Debug)]
struct MaxPool2dBackward;
#[derive(Debug)]
struct MatmulBackward;
#[derive(Debug)]
struct LinearBackward;
#[derive(Debug)]
struct BatchNormBackward;

/// The gradients of the stored operands of `op(a) · op(b)` (`op` transposes where flagged).
fn matmul_grads<B: KilnOps>(
    [node_a, node_b]: [Option<NodeId>; 2],
    (a, a_transposed): (FloatTensor<B>, bool),
    (b, b_transposed): (FloatTensor<B>, bool),
    grad: FloatTensor<B>,
    grads: &mut Gradients,
) {
    if let Some(id) = node_a {
        let da = if a_transposed {
            B::kiln_matmul(b.clone(), grad.clone(), b_transposed, true)
        } else {
            B::kiln_matmul(grad.clone(), b.clone(), false, !b_transposed)
        };
        grads.register::<B>(id, da);
    }
    if let Some(id) = node_b {
        let db = if b_transposed {
            B::kiln_matmul(grad, a, true, a_transposed)
        } else {
            B::kiln_matmul(a, grad, !a_transposed, false)
        };
        grads.register::<B>(id, db);
    }
}

impl<B: KilnOps> Backward<B, 2> for MatmulBackward {
    type State = (NodeId, NodeId, bool, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (a_state, b_state, a_transposed, b_transposed) = ops.state;
        let a = checkpointer.retrieve_node_output::<FloatTensor<B>>(a_state);
        let b = checkpointer.retrieve_node_output::<FloatTensor<B>>(b_state);
        let ids = ops.parents.map(|n| n.map(|n| n.id));
        matmul_grads::<B>(ids, (a, a_transposed), (b, b_transposed), grad, grads);
    }
}

impl<B: KilnOps> Backward<B, 3> for LinearBackward {
    type State = (NodeId, NodeId, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, outputs) = ops.state;
        if let Some(node) = node_bias {
            let db = B::float_sum_dim(grad.clone(), 0);
            grads.register::<B>(node.id, B::float_reshape(db, Shape::new([outputs])));
        }
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        let ids = [node_x.map(|n| n.id), node_weight.map(|n| n.id)];
        matmul_grads::<B>(ids, (x, false), (weight, false), grad, grads);
    }
}

/// The gradients of `x` and `weight` where their nodes want one.
fn conv_grads<B: KilnOps>(
    [node_x, node_weight]: [Option<NodeId>; 2],
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    options: ConvOptions<2>,
    grads: &mut Gradients,
) {
    if let Some(id) = node_x {
        let dx =
            B::kiln_conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
        grads.register::<B>(id, dx);
    }
    if let Some(id) = node_weight {
        let dw = B::kiln_conv2d_weight_backward(x, weight, grad, options);
        grads.register::<B>(id, dw);
    }
}

impl<B: KilnOps> Backward<B, 3> for Conv2dWithBias {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        if let Some(node) = node_bias {
            let db = B::kiln_conv2d_bias_backward(grad.clone());
            grads.register::<B>(node.id, db);
        }
        let ids = [node_x.map(|n| n.id), node_weight.map(|n| n.id)];
        conv_grads::<B>(ids, x, weight, grad, options, grads);
    }
}

impl<B: KilnOps> Backward<B, 2> for Conv2dNoBias {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        let ids = ops.parents.map(|n| n.map(|n| n.id));
        conv_grads::<B>(ids, x, weight, grad, options, grads);
    }
}

impl<B: KilnOps> Backward<B, 1> for MaxPool2dBackward {
    type State = (NodeId, [usize; 2], [usize; 2], [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, kernel_size, stride, padding) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        if let Some(node) = node_x {
            let dx = B::kiln_max_pool2d_backward(x, grad, kernel_size, stride, padding);
            grads.register::<B>(node.id, dx);
        }
    }
}

impl<B: KilnOps> Backward<B, 3> for BatchNormBackward {
    /// `x`'s checkpoint, `gamma`'s, the batch mean and variance, epsilon.
    type State = (NodeId, NodeId, FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma_state);
        let (dx, dgamma, dbeta) =
            B::kiln_batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: Backend + KilnOps, C: CheckpointStrategy> KilnOps for Autodiff<B, C> {
    fn kiln_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dNoBias
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let out = B::kiln_conv2d(x.into_primitive(), weight.into_primitive(), options);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kiln_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn kiln_conv2d_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dWithBias
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                );
                let out = B::kiln_conv2d_bias(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kiln_conv2d_bias(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }

    // The gradient ops themselves are not differentiated again (no second-order gradients):
    // they run on the inner backend and come back as constants.
    fn kiln_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::kiln_conv2d_x_backward(
            x.into_primitive(),
            weight.into_primitive(),
            output_grad.into_primitive(),
            options,
        ))
    }

    fn kiln_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::kiln_conv2d_weight_backward(
            x.into_primitive(),
            weight.into_primitive(),
            output_grad.into_primitive(),
            options,
        ))
    }

    fn kiln_conv2d_bias_backward(output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::kiln_conv2d_bias_backward(output_grad.into_primitive()))
    }

    fn kiln_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        lhs_transposed: bool,
        rhs_transposed: bool,
    ) -> FloatTensor<Self> {
        match MatmulBackward
            .prepare::<C>([lhs.node(), rhs.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&lhs),
                    prep.checkpoint(&rhs),
                    lhs_transposed,
                    rhs_transposed,
                );
                let out = B::kiln_matmul(
                    lhs.into_primitive(),
                    rhs.into_primitive(),
                    lhs_transposed,
                    rhs_transposed,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kiln_matmul(
                lhs.into_primitive(),
                rhs.into_primitive(),
                lhs_transposed,
                rhs_transposed,
            )),
        }
    }

    fn kiln_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let outputs = bias.primitive().shape().num_elements();
        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), outputs);
                let out = B::kiln_linear(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kiln_linear(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }

    /// Under autodiff the training product: [`linear`](super::linear) calls this op only off
    /// autodiff, and a gradient through it is the same as through `kiln_linear`.
    fn kiln_linear_rows(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::kiln_linear(x, weight, bias)
    }

    fn kiln_max_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        match MaxPool2dBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), kernel_size, stride, padding);
                let out = B::kiln_max_pool2d(x.into_primitive(), kernel_size, stride, padding);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kiln_max_pool2d(
                x.into_primitive(),
                kernel_size,
                stride,
                padding,
            )),
        }
    }

    fn kiln_max_pool2d_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::kiln_max_pool2d_backward(
            x.into_primitive(),
            output_grad.into_primitive(),
            kernel_size,
            stride,
            padding,
        ))
    }

    fn kiln_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // The statistics come back as constants (Burn's `BatchNorm` detaches them too).
        match BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (x_state, gamma_state) = (prep.checkpoint(&x), prep.checkpoint(&gamma));
                let (out, mean, variance) = B::kiln_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                (
                    prep.finish(state, out),
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (out, mean, variance) = B::kiln_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(out),
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(variance),
                )
            }
        }
    }

    fn kiln_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = B::kiln_batch_norm_train_backward(
            x.into_primitive(),
            gamma.into_primitive(),
            mean.into_primitive(),
            variance.into_primitive(),
            epsilon,
            output_grad.into_primitive(),
        );
        (
            FloatTensor::<Self>::new(dx),
            FloatTensor::<Self>::new(dgamma),
            FloatTensor::<Self>::new(dbeta),
        )
    }

    // Optimizer state is not differentiated: the step runs on the inner backend.
    fn kiln_adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (p, m, v) = B::kiln_adam_step(
            param.into_primitive(),
            grad.into_primitive(),
            moment_1.into_primitive(),
            moment_2.into_primitive(),
            step,
        );
        (
            FloatTensor::<Self>::new(p),
            FloatTensor::<Self>::new(m),
            FloatTensor::<Self>::new(v),
        )
    }
}
