//! LeNet-style convolutional networks for small images.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::error::{ModelError, Result, positive, probability};
use crate::kernels::{conv2d_layer, linear_layer, max_pool2d_layer};

/// Stages of `conv (valid padding) → ReLU → max-pool`, then `Linear → ReLU → dropout →
/// Linear`. The defaults are the benchmark CNN: conv 1→32 3×3, pool 2, conv 32→64 3×3, pool 2,
/// fc 1600→128→10 on 28×28 images.
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// Classes.
    pub n_classes: usize,
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Input height and width.
    #[config(default = "[28, 28]")]
    pub image_size: [usize; 2],
    /// Output channels of each convolution stage.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Square convolution kernel size.
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Square max-pool window (and stride).
    #[config(default = 2)]
    pub pool_size: usize,
    /// Width of the hidden fully connected layer.
    #[config(default = 128)]
    pub hidden: usize,
    /// Dropout probability before the output layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl CnnConfig {
    /// The `[channels, height, width]` after the convolution stages, or an error naming the
    /// stage where the image becomes too small.
    pub fn feature_shape(&self) -> Result<[usize; 3]> {
        let [mut h, mut w] = self.image_size;
        let mut c = self.in_channels;
        for (i, &out) in self.channels.iter().enumerate() {
            let conv = |x: usize| x.checked_sub(self.kernel_size - 1).filter(|&v| v > 0);
            let (Some(ch), Some(cw)) = (conv(h), conv(w)) else {
                return Err(ModelError::InvalidConfig {
                    field: "image_size".into(),
                    reason: format!(
                        "{h}×{w} is too small for the {k}×{k} convolution of stage {i}",
                        k = self.kernel_size
                    ),
                });
            };
            (h, w, c) = (ch / self.pool_size, cw / self.pool_size, out);
            if h == 0 || w == 0 {
                return Err(ModelError::InvalidConfig {
                    field: "image_size".into(),
                    reason: format!("pooling empties the image at stage {i}"),
                });
            }
        }
        Ok([c, h, w])
    }

    /// Checks the configuration and builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<Cnn> {
        positive("n_classes", self.n_classes)?;
        positive("in_channels", self.in_channels)?;
        positive("kernel_size", self.kernel_size)?;
        positive("pool_size", self.pool_size)?;
        positive("hidden", self.hidden)?;
        for (i, &c) in self.channels.iter().enumerate() {
            positive(&format!("channels[{i}]"), c)?;
        }
        probability("dropout", self.dropout)?;
        let [c, h, w] = self.feature_shape()?;
        let mut convs = Vec::with_capacity(self.channels.len());
        let mut from = self.in_channels;
        for &to in &self.channels {
            let k = self.kernel_size;
            convs.push(Conv2dConfig::new([from, to], [k, k]).init(device));
            from = to;
        }
        let p = self.pool_size;
        Ok(Cnn {
            in_channels: self.in_channels,
            height: self.image_size[0],
            width: self.image_size[1],
            convs,
            pool: MaxPool2dConfig::new([p, p]).init(),
            hidden: LinearConfig::new(c * h * w, self.hidden).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.hidden, self.n_classes).init(device),
        })
    }
}

/// See [`CnnConfig`].
#[derive(Module, Debug)]
pub struct Cnn {
    in_channels: usize,
    height: usize,
    width: usize,
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    hidden: Linear,
    dropout: Dropout,
    output: Linear,
}

impl Cnn {
    /// `[batch, channels, height, width]` → `[batch, n_classes]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for conv in &self.convs {
            // ReLU after the max-pool rather than before: the two commute (ReLU is monotone, so
            // the window's maximum and its position are the same), for the same values and
            // gradients, on a quarter of the elements.
            x = relu(max_pool2d_layer(&self.pool, conv2d_layer(conv, x)));
        }
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.dropout.forward(relu(linear_layer(&self.hidden, x)));
        linear_layer(&self.output, x)
    }

    /// `[batch, channels · height · width]` rows (channel-major, row-major pixels) →
    /// `[batch, n_classes]` logits.
    pub fn forward_flat(&self, rows: Tensor<2>) -> Tensor<2> {
        let [batch, _] = rows.dims();
        self.forward(rows.reshape([batch, self.in_channels, self.height, self.width]))
    }
}
