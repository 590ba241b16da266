//! A small residual network (ResNet-style) for 28×28 and 32×32 images.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, probability};
use crate::kernels::{batch_norm_layer, conv2d_layer, linear_layer};

/// A stem `conv 3×3 → batch norm → ReLU`, then one stage per entry of `widths`, each of
/// `blocks_per_stage` basic residual blocks (two 3×3 convolutions with batch norm and an
/// identity or 1×1 projection shortcut; every stage after the first halves the resolution),
/// then global average pooling, dropout and a linear classifier. Any image size works; the
/// defaults suit MNIST (1×28×28) and, with `in_channels = 3`, CIFAR-sized 32×32 images.
#[derive(Config, Debug)]
pub struct ResidualCnnConfig {
    /// Classes.
    pub n_classes: usize,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Input height and width.
    #[config(default = "[28, 28]")]
    pub image_size: [usize; 2],
    /// Channels of each stage.
    #[config(default = "vec![16, 32, 64]")]
    pub widths: Vec<usize>,
    /// Residual blocks per stage.
    #[config(default = 1)]
    pub blocks_per_stage: usize,
    /// Dropout probability before the classifier.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ResidualCnnConfig {
    /// Checks the configuration and builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<ResidualCnn> {
        positive("n_classes", self.n_classes)?;
        positive("in_channels", self.in_channels)?;
        positive("image_size[0]", self.image_size[0])?;
        positive("image_size[1]", self.image_size[1])?;
        positive("blocks_per_stage", self.blocks_per_stage)?;
        positive("widths.len()", self.widths.len())?;
        for (i, &w) in self.widths.iter().enumerate() {
            positive(&format!("widths[{i}]"), w)?;
        }
        probability("dropout", self.dropout)?;
        let first = self.widths[0];
        let mut blocks = Vec::new();
        let mut from = first;
        for (stage, &to) in self.widths.iter().enumerate() {
            for block in 0..self.blocks_per_stage {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(from, to, stride, device));
                from = to;
            }
        }
        Ok(ResidualCnn {
            in_channels: self.in_channels,
            height: self.image_size[0],
            width: self.image_size[1],
            stem: conv3x3(self.in_channels, first, 1, device),
            stem_norm: BatchNormConfig::new(first).init(device),
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(from, self.n_classes).init(device),
        })
    }
}

fn conv3x3(from: usize, to: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([from, to], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// Two 3×3 convolutions with batch norm, added to the (projected) input.
#[derive(Module, Debug)]
struct BasicBlock {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    shortcut: Option<Shortcut>,
}

/// A 1×1 strided convolution with batch norm, where a block changes shape.
#[derive(Module, Debug)]
struct Shortcut {
    conv: Conv2d,
    norm: BatchNorm,
}

impl BasicBlock {
    fn new(from: usize, to: usize, stride: usize, device: &Device) -> Self {
        let shortcut = (stride != 1 || from != to).then(|| Shortcut {
            conv: Conv2dConfig::new([from, to], [1, 1])
                .with_stride([stride, stride])
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(to).init(device),
        });
        Self {
            conv1: conv3x3(from, to, stride, device),
            norm1: BatchNormConfig::new(to).init(device),
            conv2: conv3x3(to, to, 1, device),
            norm2: BatchNormConfig::new(to).init(device),
            shortcut,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.shortcut {
            Some(s) => batch_norm_layer(&s.norm, conv2d_layer(&s.conv, x.clone())),
            None => x.clone(),
        };
        let y = relu(batch_norm_layer(&self.norm1, conv2d_layer(&self.conv1, x)));
        let y = batch_norm_layer(&self.norm2, conv2d_layer(&self.conv2, y));
        relu(y + identity)
    }
}

/// See [`ResidualCnnConfig`].
#[derive(Module, Debug)]
pub struct ResidualCnn {
    in_channels: usize,
    height: usize,
    width: usize,
    stem: Conv2d,
    stem_norm: BatchNorm,
    blocks: Vec<BasicBlock>,
    pool: AdaptiveAvgPool2d,
    dropout: Dropout,
    output: Linear,
}

impl ResidualCnn {
    /// `[batch, channels, height, width]` → `[batch, n_classes]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = relu(batch_norm_layer(
            &self.stem_norm,
            conv2d_layer(&self.stem, images),
        ));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x: Tensor<2> = self.pool.forward(x).flatten(1, 3);
        linear_layer(&self.output, self.dropout.forward(x))
    }

    /// `[batch, channels · height · width]` rows (channel-major, row-major pixels) →
    /// `[batch, n_classes]` logits.
    pub fn forward_flat(&self, rows: Tensor<2>) -> Tensor<2> {
        let [batch, _] = rows.dims();
        self.forward(rows.reshape([batch, self.in_channels, self.height, self.width]))
    }
}
