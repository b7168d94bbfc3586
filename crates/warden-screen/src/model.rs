//! The learned detector: logistic regression over hashed word and character n-grams
//! ([`features`]), scored per overlapping chunk of the normalised text; a text scores as its
//! worst chunk, so one injected sentence in a long email is not averaged away.
//!
//! Weights ship in the crate (`model/weights.bin`, 16-bit fixed point, about 256 KiB) and are
//! produced by `warden-screen-train` with [`train`], which is plain deterministic Rust. The file
//! also holds the calibration the screen needs to turn evidence into a score (see
//! [`crate::screen`]): two logit thresholds fitted on benign development data, and the gain that
//! converts rule scores into logits. Changing the features or the gain means retraining.

pub mod features;
pub mod train;

use std::ops::Range;

use thiserror::Error;

use features::{DIM, DIM_BITS};

const MAGIC: &[u8; 4] = b"WSM1";
const HEADER_LEN: usize = 4 + 4 + 4 * 5;

static EMBEDDED: &[u8] = include_bytes!("../model/weights.bin");

/// Why a weights file could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("weights file does not start with `WSM1`")]
    BadMagic,
    #[error("weights file is for {found} hash bits, this build uses {expected}")]
    Dimension { found: u32, expected: u32 },
    #[error("weights file is {found} bytes, expected {expected}")]
    Length { found: usize, expected: usize },
    #[error("weights file holds a non-finite parameter")]
    NotFinite,
}

/// Where the screen's two verdict levels sit on the evidence logit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Evidence logit that maps to score 0.5 (suspicious).
    pub suspicious_logit: f32,
    /// Evidence logit that maps to score 0.8 (injection).
    pub injection_logit: f32,
    /// Logit added per unit of rule score (per finding kind, strongest finding of the kind).
    pub rule_gain: f32,
}

/// A loaded model.
#[derive(Clone)]
pub struct Model {
    weights: Vec<i16>,
    scale: f32,
    bias: f32,
    calibration: Calibration,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dim", &self.weights.len())
            .field("bias", &self.bias)
            .field("calibration", &self.calibration)
            .finish_non_exhaustive()
    }
}

fn word_at(bytes: &[u8], at: usize) -> [u8; 4] {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    b
}

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(word_at(bytes, at))
}

impl Model {
    /// The model shipped in this crate.
    pub fn embedded() -> Result<Self, ModelError> {
        Self::from_bytes(EMBEDDED)
    }

    /// Parses a weights file written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.get(..4) != Some(MAGIC.as_slice()) {
            return Err(ModelError::BadMagic);
        }
        let bits = u32::from_le_bytes(word_at(bytes, 4));
        if bits != DIM_BITS {
            return Err(ModelError::Dimension {
                found: bits,
                expected: DIM_BITS,
            });
        }
        let expected = HEADER_LEN + 2 * DIM;
        if bytes.len() != expected {
            return Err(ModelError::Length {
                found: bytes.len(),
                expected,
            });
        }
        let scale = f32_at(bytes, 8);
        let bias = f32_at(bytes, 12);
        let calibration = Calibration {
            suspicious_logit: f32_at(bytes, 16),
            injection_logit: f32_at(bytes, 20),
            rule_gain: f32_at(bytes, 24),
        };
        let header = [
            scale,
            bias,
            calibration.suspicious_logit,
            calibration.injection_logit,
            calibration.rule_gain,
        ];
        if header.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite);
        }
        let weights = bytes
            .get(HEADER_LEN..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|p| {
                i16::from_le_bytes([
                    p.first().copied().unwrap_or(0),
                    p.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        Ok(Self {
            weights,
            scale,
            bias,
            calibration,
        })
    }

    /// Quantises trained weights (length [`DIM`]) into a model.
    pub fn from_weights(weights: &[f32], bias: f32, calibration: Calibration) -> Self {
        let max = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 {
            max / f32::from(i16::MAX)
        } else {
            1.0
        };
        let weights = (0..DIM)
            .map(|i| {
                let w = weights.get(i).copied().unwrap_or(0.0) / scale;
                // INVARIANT: |w| <= i16::MAX by the choice of `scale`, so the cast does not wrap.
                w.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
            })
            .collect();
        Self {
            weights,
            scale,
            bias,
            calibration,
        }
    }

    /// The weights file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 2 * DIM);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&DIM_BITS.to_le_bytes());
        for v in [
            self.scale,
            self.bias,
            self.calibration.suspicious_logit,
            self.calibration.injection_logit,
            self.calibration.rule_gain,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// Replaces the calibration (the trainer fits it after the weights).
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.calibration = calibration;
        self
    }

    /// Logit of one chunk.
    pub fn chunk_logit(&self, chunk: &str) -> f32 {
        let mut sum = 0.0f32;
        let n = features::for_each_feature(chunk, |i, s| {
            let w = self.weights.get(i as usize).copied().unwrap_or(0);
            sum += s * f32::from(w);
        });
        self.bias + sum * self.scale / (n.max(1) as f32).sqrt()
    }

    /// Highest chunk logit of `text` and that chunk's range, or `None` for blank text.
    pub fn scan(&self, text: &str) -> Option<(f32, Range<usize>)> {
        features::chunks(text)
            .into_iter()
            .filter_map(|r| text.get(r.clone()).map(|c| (self.chunk_logit(c), r)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_loads() {
        let m = Model::embedded().unwrap();
        let c = m.calibration();
        assert!(c.suspicious_logit < c.injection_logit);
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let mut w = vec![0.0; DIM];
        w[7] = 0.5;
        w[9] = -1.0;
        let cal = Calibration {
            suspicious_logit: 0.0,
            injection_logit: 1.0,
            rule_gain: 3.0,
        };
        let m = Model::from_weights(&w, -2.0, cal);
        let back = Model::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.weights, m.weights);
        assert_eq!(back.calibration(), cal);
        assert_eq!(
            Model::from_bytes(b"nope").unwrap_err(),
            ModelError::BadMagic
        );
        assert!(matches!(
            Model::from_bytes(&m.to_bytes()[..100]),
            Err(ModelError::Length { .. })
        ));
    }
}
