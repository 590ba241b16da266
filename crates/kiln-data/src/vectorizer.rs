//! Bag-of-words and TF-IDF text vectorization, with a hashing option.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::matrix::{Matrix, SparseMatrix};

/// How token counts become feature values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Raw term counts.
    Count,
    /// 1 if the term occurs, else 0.
    Binary,
    /// Term count × smoothed IDF, `ln((1 + n) / (1 + df)) + 1` (scikit-learn's default).
    TfIdf,
}

/// Settings of a [`Vectorizer`]; `fit` checks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorizerConfig {
    /// How counts become values.
    pub weighting: Weighting,
    /// Lowercase text before tokenizing.
    pub lowercase: bool,
    /// Keep only terms in at least this many documents (vocabulary mode).
    pub min_df: usize,
    /// Keep at most this many terms, the most frequent across documents (vocabulary mode).
    pub max_features: Option<usize>,
    /// Hash tokens into this many features instead of learning a vocabulary.
    pub hashing: Option<usize>,
    /// Scale each row to unit L2 norm.
    pub l2_normalize: bool,
}

impl Default for VectorizerConfig {
    fn default() -> Self {
        Self {
            weighting: Weighting::TfIdf,
            lowercase: true,
            min_df: 1,
            max_features: None,
            hashing: None,
            l2_normalize: true,
        }
    }
}

impl VectorizerConfig {
    /// Sets the weighting.
    pub fn with_weighting(mut self, weighting: Weighting) -> Self {
        self.weighting = weighting;
        self
    }

    /// Sets the minimum document frequency.
    pub fn with_min_df(mut self, min_df: usize) -> Self {
        self.min_df = min_df;
        self
    }

    /// Caps the vocabulary size.
    pub fn with_max_features(mut self, max: usize) -> Self {
        self.max_features = Some(max);
        self
    }

    /// Uses feature hashing into `n_features` buckets.
    pub fn with_hashing(mut self, n_features: usize) -> Self {
        self.hashing = Some(n_features);
        self
    }

    /// Turns L2 row normalization on or off.
    pub fn with_l2_normalize(mut self, on: bool) -> Self {
        self.l2_normalize = on;
        self
    }

    /// Learns the vocabulary (or just IDF weights, when hashing) from training documents.
    pub fn fit<S: AsRef<str>>(self, documents: &[S]) -> Result<Vectorizer> {
        if self.hashing == Some(0) {
            return Err(DataError::config("hashing", "needs at least 1 feature"));
        }
        if self.max_features == Some(0) {
            return Err(DataError::config("max_features", "must be at least 1"));
        }
        if documents.is_empty() {
            return Err(DataError::config(
                "documents",
                "fit needs at least one document",
            ));
        }
        let mut vectorizer = Vectorizer {
            config: self,
            vocabulary: HashMap::new(),
            terms: Vec::new(),
            idf: Vec::new(),
        };
        if vectorizer.config.hashing.is_none() {
            let mut df: HashMap<String, usize> = HashMap::new();
            for doc in documents {
                let mut seen: Vec<String> = vectorizer.tokens(doc.as_ref()).collect();
                seen.sort_unstable();
                seen.dedup();
                for token in seen {
                    *df.entry(token).or_default() += 1;
                }
            }
            let mut terms: Vec<(String, usize)> = df
                .into_iter()
                .filter(|(_, n)| *n >= vectorizer.config.min_df)
                .collect();
            // Most frequent first, ties alphabetical: a deterministic cut for max_features.
            terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            if let Some(max) = vectorizer.config.max_features {
                terms.truncate(max);
            }
            terms.sort_by(|a, b| a.0.cmp(&b.0));
            vectorizer.terms = terms.into_iter().map(|(t, _)| t).collect();
            vectorizer.vocabulary = vectorizer
                .terms
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect();
        }
        if vectorizer.config.weighting == Weighting::TfIdf {
            let mut df = vec![0usize; vectorizer.n_features()];
            for doc in documents {
                let mut ids = vectorizer.ids(doc.as_ref());
                ids.sort_unstable();
                ids.dedup();
                for id in ids {
                    df[id as usize] += 1;
                }
            }
            let n = documents.len() as f64;
            vectorizer.idf = df
                .iter()
                .map(|&d| (((1.0 + n) / (1.0 + d as f64)).ln() + 1.0) as f32)
                .collect();
        }
        Ok(vectorizer)
    }
}

/// A fitted text vectorizer: documents in, sparse feature rows out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vectorizer {
    config: VectorizerConfig,
    terms: Vec<String>,
    #[serde(skip)]
    vocabulary: HashMap<String, u32>,
    idf: Vec<f32>,
}

impl Vectorizer {
    /// The number of output features.
    pub fn n_features(&self) -> usize {
        self.config.hashing.unwrap_or(self.terms.len())
    }

    /// The learned vocabulary, sorted (empty when hashing).
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &VectorizerConfig {
        &self.config
    }

    /// Turns documents into a sparse matrix of `documents.len()` rows.
    pub fn transform<S: AsRef<str>>(&self, documents: &[S]) -> SparseMatrix {
        let mut indptr = Vec::with_capacity(documents.len() + 1);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        indptr.push(0);
        for doc in documents {
            let mut ids = self.ids(doc.as_ref());
            ids.sort_unstable();
            let start = values.len();
            for group in ids.chunk_by(|a, b| a == b) {
                let id = group[0];
                let count = group.len() as f32;
                let value = match self.config.weighting {
                    Weighting::Count => count,
                    Weighting::Binary => 1.0,
                    Weighting::TfIdf => count * self.idf[id as usize],
                };
                indices.push(id);
                values.push(value);
            }
            if self.config.l2_normalize {
                let norm = values[start..].iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    values[start..].iter_mut().for_each(|v| *v /= norm);
                }
            }
            indptr.push(values.len());
        }
        SparseMatrix::new(documents.len(), self.n_features(), indptr, indices, values)
    }

    /// Turns documents into a dense matrix (fine for small vocabularies).
    pub fn transform_dense<S: AsRef<str>>(&self, documents: &[S]) -> Matrix {
        self.transform(documents).to_dense()
    }

    /// Token-id sequences for sequence models (embedding bags, transformers): one row per
    /// document of its first `max_len` tokens, each `feature id + 2`, with `1` for a term
    /// outside the vocabulary and `0` padding the rest. Ids are stored as `f32`, exact below
    /// 2²⁴; an embedding table needs [`vocabulary_size`](Self::vocabulary_size) rows.
    pub fn token_ids<S: AsRef<str>>(&self, documents: &[S], max_len: usize) -> Matrix {
        let mut data = vec![0.0f32; documents.len() * max_len];
        for (doc, row) in documents.iter().zip(data.chunks_mut(max_len.max(1))) {
            for (slot, token) in row.iter_mut().zip(self.tokens(doc.as_ref())) {
                let id = match self.config.hashing {
                    Some(n) => Some((fnv1a(&token) % n as u64) as u32),
                    None => self.vocabulary.get(&token).copied(),
                };
                *slot = id.map_or(1.0, |id| (id + 2) as f32);
            }
        }
        Matrix::new(documents.len(), max_len, data).expect("rows × max_len values were allocated")
    }

    /// Rows an embedding table needs for [`token_ids`](Self::token_ids): the features plus
    /// padding (0) and unknown (1).
    pub fn vocabulary_size(&self) -> usize {
        self.n_features() + 2
    }

    /// Writes the fitted vectorizer as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::preprocess::write_json(path.as_ref(), self)
    }

    /// Reads a vectorizer written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let mut v: Self = crate::preprocess::read_json(path.as_ref())?;
        v.vocabulary = v
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(v)
    }

    /// Feature ids of a document's tokens (repeats kept, unknown terms dropped).
    fn ids(&self, doc: &str) -> Vec<u32> {
        match self.config.hashing {
            Some(n) => self
                .tokens(doc)
                .map(|t| (fnv1a(&t) % n as u64) as u32)
                .collect(),
            None => self
                .tokens(doc)
                .filter_map(|t| self.vocabulary.get(&t).copied())
                .collect(),
        }
    }

    /// Words of two or more alphanumeric characters (scikit-learn's default token pattern).
    fn tokens<'a>(&self, doc: &'a str) -> impl Iterator<Item = String> + 'a {
        let lowercase = self.config.lowercase;
        doc.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|t| t.chars().nth(1).is_some())
            .map(move |t| {
                if lowercase {
                    t.to_lowercase()
                } else {
                    t.to_owned()
                }
            })
    }
}

/// FNV-1a, 64-bit: a stable hash so hashed features mean the same on every platform.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
