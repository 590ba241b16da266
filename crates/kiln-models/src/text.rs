//! Text classifiers over token-id sequences.

use burn::config::Config;
use burn::module::Module;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};

use crate::error::{ModelError, Result, positive, probability};
use crate::kernels::linear_layer;

/// How token embeddings become one vector per document.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum TextEncoder {
    /// The mean of the token embeddings (an embedding bag, as fastText).
    EmbeddingBag,
    /// Learned position embeddings and a transformer encoder, then the mean over tokens.
    Transformer,
}

/// Token ids (`0` pads, as `Vectorizer::token_ids` writes them) → embeddings → an encoder →
/// the mean over non-padding tokens → an MLP head of `hidden` widths (`Linear → ReLU →
/// dropout`) → class logits.
#[derive(Config, Debug)]
pub struct TextClassifierConfig {
    /// Rows of the embedding table: the largest token id + 1.
    pub vocabulary_size: usize,
    /// Classes.
    pub n_classes: usize,
    /// The document encoder.
    #[config(default = "TextEncoder::EmbeddingBag")]
    pub encoder: TextEncoder,
    /// Width of the token embeddings (the transformer's `d_model`).
    #[config(default = 64)]
    pub embedding_dim: usize,
    /// Tokens read per document; longer inputs are cut.
    #[config(default = 256)]
    pub max_len: usize,
    /// Hidden widths of the head.
    #[config(default = "vec![64]")]
    pub hidden: Vec<usize>,
    /// Dropout in the head (and the transformer).
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Transformer layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Attention heads; must divide `embedding_dim`.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Width of the transformer's feed-forward layers.
    #[config(default = 128)]
    pub d_ff: usize,
}

impl TextClassifierConfig {
    /// Checks the configuration and builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<TextClassifier> {
        positive("vocabulary_size", self.vocabulary_size)?;
        positive("n_classes", self.n_classes)?;
        positive("embedding_dim", self.embedding_dim)?;
        positive("max_len", self.max_len)?;
        for (i, &width) in self.hidden.iter().enumerate() {
            positive(&format!("hidden[{i}]"), width)?;
        }
        probability("dropout", self.dropout)?;
        let (positions, encoder) = match self.encoder {
            TextEncoder::EmbeddingBag => (None, None),
            TextEncoder::Transformer => {
                positive("n_layers", self.n_layers)?;
                positive("n_heads", self.n_heads)?;
                positive("d_ff", self.d_ff)?;
                if !self.embedding_dim.is_multiple_of(self.n_heads) {
                    return Err(ModelError::InvalidConfig {
                        field: "n_heads".into(),
                        reason: format!(
                            "{} heads do not divide embedding_dim {}",
                            self.n_heads, self.embedding_dim
                        ),
                    });
                }
                (
                    Some(EmbeddingConfig::new(self.max_len, self.embedding_dim).init(device)),
                    Some(
                        TransformerEncoderConfig::new(
                            self.embedding_dim,
                            self.d_ff,
                            self.n_heads,
                            self.n_layers,
                        )
                        .with_dropout(self.dropout)
                        .with_norm_first(true)
                        .init(device),
                    ),
                )
            }
        };
        let mut hidden = Vec::with_capacity(self.hidden.len());
        let mut width = self.embedding_dim;
        for &next in &self.hidden {
            hidden.push(LinearConfig::new(width, next).init(device));
            width = next;
        }
        Ok(TextClassifier {
            max_len: self.max_len,
            embedding: EmbeddingConfig::new(self.vocabulary_size, self.embedding_dim).init(device),
            positions,
            encoder,
            hidden,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(width, self.n_classes).init(device),
        })
    }
}

/// See [`TextClassifierConfig`].
#[derive(Module, Debug)]
pub struct TextClassifier {
    max_len: usize,
    embedding: Embedding,
    positions: Option<Embedding>,
    encoder: Option<TransformerEncoder>,
    hidden: Vec<Linear>,
    dropout: Dropout,
    output: Linear,
}

impl TextClassifier {
    /// `[batch, tokens]` ids (`0` pads) → `[batch, n_classes]` logits. Ids must be below the
    /// configured `vocabulary_size`; tokens past `max_len` are ignored.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let [batch, len] = ids.dims();
        let ids = if len > self.max_len {
            ids.slice([0..batch, 0..self.max_len])
        } else {
            ids
        };
        let len = len.min(self.max_len);
        let padding = ids.clone().equal_elem(0);
        let mut x = self.embedding.forward(ids.clone());
        if let (Some(positions), Some(encoder)) = (&self.positions, &self.encoder) {
            let index: Tensor<2, Int> = Tensor::<1, Int>::arange(0..len as i64, &ids.device())
                .reshape([1, len])
                .repeat_dim(0, batch);
            x = x + positions.forward(index);
            x = encoder.forward(TransformerEncoderInput::new(x).mask_pad(padding.clone()));
        }
        let keep: Tensor<3> = padding.bool_not().float().unsqueeze_dim(2);
        let counts = keep.clone().sum_dim(1).clamp_min(1.0);
        let [_, _, width] = x.dims();
        let mut x: Tensor<2> = (x * keep).sum_dim(1).div(counts).reshape([batch, width]);
        for layer in &self.hidden {
            x = self.dropout.forward(relu(linear_layer(layer, x)));
        }
        linear_layer(&self.output, x)
    }

    /// Token ids stored as floats (as `Vectorizer::token_ids` returns them) → logits.
    pub fn forward_flat(&self, rows: Tensor<2>) -> Tensor<2> {
        self.forward(rows.int())
    }
}
