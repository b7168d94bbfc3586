//! Training, pure and deterministic: the same examples and seed give the same bytes.
//!
//! Logistic regression with L2 regularisation and an optional hidden layer of ReLU units beside
//! the linear part, fitted jointly by AdaGrad SGD over shuffled examples (a fixed-seed xorshift
//! decides the order and the initial weights). Examples carry weights so every data source counts the
//! same whatever its size. Threshold fitting lives here too, so the trainer binary only does I/O.

use super::features::DIM;

/// One training chunk.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<(u32, f32)>,
    pub label: bool,
    pub weight: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    /// Units of the hidden layer; 0 fits the linear part alone.
    pub hidden_units: usize,
    /// Learning rate of the hidden layer.
    pub hidden_learning_rate: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 12,
            learning_rate: 0.2,
            l2: 1e-6,
            seed: 0x5eed_2024,
            hidden_units: 0,
            hidden_learning_rate: 0.05,
        }
    }
}

/// The hidden layer: `units` ReLU units over the same hashed features, feature-major (the
/// `units` weights of one bucket are adjacent, so a sparse input reads contiguous memory).
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    pub units: usize,
    /// `DIM * units` input weights.
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
    /// Output weight of each unit.
    pub out: Vec<f32>,
}

/// Fitted parameters before quantisation: a linear part and, optionally, a hidden layer whose
/// units add to the same logit (a "wide and deep" model in miniature).
#[derive(Debug, Clone)]
pub struct Linear {
    pub weights: Vec<f32>,
    pub bias: f32,
    pub hidden: Option<Hidden>,
}

impl Hidden {
    /// Pre-activations of the units for `features`.
    fn pre(&self, features: &[(u32, f32)]) -> Vec<f32> {
        let mut acc = self.biases.clone();
        for &(i, v) in features {
            let at = i as usize * self.units;
            if let Some(row) = self.weights.get(at..at + self.units) {
                acc.iter_mut().zip(row).for_each(|(a, w)| *a += v * w);
            }
        }
        acc
    }

    fn output(&self, pre: &[f32]) -> f32 {
        pre.iter().zip(&self.out).map(|(p, o)| p.max(0.0) * o).sum()
    }
}

impl Linear {
    pub fn logit(&self, features: &[(u32, f32)]) -> f32 {
        let linear = self.bias
            + features
                .iter()
                .map(|&(i, v)| self.weights.get(i as usize).copied().unwrap_or(0.0) * v)
                .sum::<f32>();
        match &self.hidden {
            Some(h) => linear + h.output(&h.pre(features)),
            None => linear,
        }
    }
}

/// Deterministic xorshift64*.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % (n as u64)).unwrap_or(0)
    }

    /// Uniform in `-1..1`.
    pub fn symmetric(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// AdaGrad step on one parameter.
#[inline]
fn step(w: &mut f32, g2: &mut f32, grad: f32, lr: f32) {
    *g2 += grad * grad;
    *w -= lr * grad / g2.sqrt();
}

/// Fits the model by AdaGrad SGD on the logistic loss.
pub fn fit(examples: &[Example], config: &TrainConfig) -> Linear {
    let mut w = vec![0.0f32; DIM];
    let mut g2 = vec![1e-8f32; DIM];
    let mut bias = 0.0f32;
    let mut bias_g2 = 1e-8f32;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = Rng::new(config.seed);
    let units = config.hidden_units;
    // Small random input weights break the symmetry between units; output weights start at
    // alternating signs so that the layer starts near zero but its units differ.
    let mut hidden = (units > 0).then(|| Hidden {
        units,
        weights: (0..DIM * units).map(|_| 0.05 * rng.symmetric()).collect(),
        biases: vec![0.0; units],
        out: (0..units)
            .map(|u| if u % 2 == 0 { 0.1 } else { -0.1 })
            .collect(),
    });
    let mut hg2 = vec![1e-8f32; DIM * units];
    let mut hb_g2 = vec![1e-8f32; units];
    let mut ho_g2 = vec![1e-8f32; units];
    let lr = config.learning_rate;
    let hlr = config.hidden_learning_rate;
    for _ in 0..config.epochs {
        rng.shuffle(&mut order);
        for &k in &order {
            let Some(ex) = examples.get(k) else { continue };
            let pre = hidden.as_ref().map(|h| h.pre(&ex.features));
            let z = bias
                + ex.features
                    .iter()
                    .map(|&(i, v)| w.get(i as usize).copied().unwrap_or(0.0) * v)
                    .sum::<f32>()
                + match (&hidden, &pre) {
                    (Some(h), Some(p)) => h.output(p),
                    _ => 0.0,
                };
            let y = if ex.label { 1.0 } else { 0.0 };
            let err = (sigmoid(z) - y) * ex.weight;
            for &(i, v) in &ex.features {
                let i = i as usize;
                if let (Some(wi), Some(gi)) = (w.get_mut(i), g2.get_mut(i)) {
                    let grad = err * v + config.l2 * *wi;
                    step(wi, gi, grad, lr);
                }
            }
            step(&mut bias, &mut bias_g2, err, lr);
            if let (Some(h), Some(pre)) = (hidden.as_mut(), pre) {
                // Gradient at each active unit's pre-activation, before the output weights move.
                let d: Vec<f32> = pre
                    .iter()
                    .zip(&h.out)
                    .map(|(p, o)| if *p > 0.0 { err * o } else { 0.0 })
                    .collect();
                for ((o, g), p) in h.out.iter_mut().zip(ho_g2.iter_mut()).zip(&pre) {
                    let grad = err * p.max(0.0) + config.l2 * *o;
                    step(o, g, grad, hlr);
                }
                for ((b, g), du) in h.biases.iter_mut().zip(hb_g2.iter_mut()).zip(&d) {
                    if *du != 0.0 {
                        step(b, g, *du, hlr);
                    }
                }
                for &(i, v) in &ex.features {
                    let at = i as usize * units;
                    let (Some(row), Some(grow)) = (
                        h.weights.get_mut(at..at + units),
                        hg2.get_mut(at..at + units),
                    ) else {
                        continue;
                    };
                    for ((wu, gu), du) in row.iter_mut().zip(grow.iter_mut()).zip(&d) {
                        if *du != 0.0 {
                            let grad = du * v + config.l2 * *wu;
                            step(wu, gu, grad, hlr);
                        }
                    }
                }
            }
        }
    }
    Linear {
        weights: w,
        bias,
        hidden,
    }
}

/// A benign development sample for threshold fitting.
#[derive(Debug, Clone, Copy)]
pub struct BenignScore {
    /// Evidence logit (model plus rule gain).
    pub logit: f32,
    /// Strongest single finding score, which floors the report score.
    pub floor: f32,
    /// Source index: every source weighs the same in the false-positive rate.
    pub source: usize,
}

/// The lowest evidence logit at which the false-positive rate over `samples` (each source
/// weighted equally, texts flagged by a finding at or above `level` counted as positives
/// regardless) stays within `target`. Placed midway between the last flagged and the first
/// unflagged benign logit.
pub fn fit_threshold(samples: &[BenignScore], level: f32, target: f64) -> f32 {
    let sources = samples.iter().map(|s| s.source + 1).max().unwrap_or(0);
    let mut per_source = vec![0usize; sources];
    for s in samples {
        if let Some(c) = per_source.get_mut(s.source) {
            *c += 1;
        }
    }
    let used = per_source.iter().filter(|&&c| c > 0).count().max(1) as f64;
    let weight = |s: &BenignScore| {
        1.0 / (used * per_source.get(s.source).copied().unwrap_or(1).max(1) as f64)
    };
    let floored: f64 = samples
        .iter()
        .filter(|s| s.floor >= level)
        .map(weight)
        .sum();
    let mut rest: Vec<&BenignScore> = samples.iter().filter(|s| s.floor < level).collect();
    rest.sort_by(|a, b| b.logit.total_cmp(&a.logit));
    let Some(top) = rest.first() else {
        return 0.0;
    };
    let mut budget = target - floored;
    let mut k = 0usize;
    while let Some(s) = rest.get(k) {
        let w = weight(s);
        if w > budget {
            break;
        }
        budget -= w;
        k += 1;
    }
    // Ties cannot be split: back off to a gap.
    while k > 0
        && let (Some(a), Some(b)) = (rest.get(k - 1), rest.get(k))
        && a.logit <= b.logit
    {
        k -= 1;
    }
    match (k.checked_sub(1).and_then(|i| rest.get(i)), rest.get(k)) {
        (Some(a), Some(b)) => f32::midpoint(a.logit, b.logit),
        (Some(a), None) => a.logit - 0.25,
        (None, _) => top.logit + 0.25,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem() {
        let ex = |i: u32, label| Example {
            features: vec![(i, 1.0), (100, 1.0)],
            label,
            weight: 1.0,
        };
        let data = vec![ex(1, true), ex(2, false), ex(1, true), ex(2, false)];
        let m = fit(&data, &TrainConfig::default());
        assert!(m.logit(&[(1, 1.0), (100, 1.0)]) > 1.0);
        assert!(m.logit(&[(2, 1.0), (100, 1.0)]) < -1.0);
        let again = fit(&data, &TrainConfig::default());
        assert_eq!(again.weights, m.weights);
    }

    #[test]
    fn hidden_layer_learns_what_a_line_cannot() {
        // XOR of features 1 and 2: no linear model separates it.
        let ex = |f: &[u32], label| Example {
            features: f.iter().map(|&i| (i, 1.0)).chain([(100, 1.0)]).collect(),
            label,
            weight: 1.0,
        };
        let data: Vec<Example> = (0..50)
            .flat_map(|_| {
                [
                    ex(&[1], true),
                    ex(&[2], true),
                    ex(&[1, 2], false),
                    ex(&[], false),
                ]
            })
            .collect();
        let config = TrainConfig {
            hidden_units: 8,
            epochs: 60,
            hidden_learning_rate: 0.2,
            ..TrainConfig::default()
        };
        let m = fit(&data, &config);
        let logit = |f: &[u32]| {
            m.logit(
                &f.iter()
                    .map(|&i| (i, 1.0))
                    .chain([(100, 1.0)])
                    .collect::<Vec<_>>(),
            )
        };
        assert!(
            logit(&[1]) > 0.0 && logit(&[2]) > 0.0,
            "{} {}",
            logit(&[1]),
            logit(&[2])
        );
        assert!(
            logit(&[1, 2]) < 0.0 && logit(&[]) < 0.0,
            "{} {}",
            logit(&[1, 2]),
            logit(&[])
        );
        let linear = fit(
            &data,
            &TrainConfig {
                epochs: 60,
                ..TrainConfig::default()
            },
        );
        let wrong = [&[1][..], &[2], &[1, 2], &[]]
            .iter()
            .zip([true, true, false, false])
            .filter(|(f, y)| {
                (linear.logit(
                    &f.iter()
                        .map(|&i| (i, 1.0))
                        .chain([(100, 1.0)])
                        .collect::<Vec<_>>(),
                ) > 0.0)
                    != *y
            })
            .count();
        assert!(wrong >= 1, "a linear model cannot fit XOR");
    }

    #[test]
    fn threshold_respects_budget_and_floors() {
        let s = |logit, floor, source| BenignScore {
            logit,
            floor,
            source,
        };
        // Two sources of 10; 10% budget: one sample of source 0 weighs 5%.
        let mut v: Vec<_> = (0..10).map(|i| s(i as f32, 0.0, 0)).collect();
        v.extend((0..10).map(|i| s(i as f32 - 20.0, 0.0, 1)));
        assert_eq!(fit_threshold(&v, 0.5, 0.10), 7.5);
        // A floored sample uses part of the budget.
        v[0].floor = 0.9;
        assert_eq!(fit_threshold(&v, 0.5, 0.10), 8.5);
        assert_eq!(fit_threshold(&v, 0.5, 0.0), 9.25);
    }
}
