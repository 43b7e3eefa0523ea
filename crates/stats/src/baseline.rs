//! Baseline comparison for canary and regression gates, as Kayenta's judge does it:
//! a Mann-Whitney U test says whether the candidate's latencies differ from the
//! baseline's, and a relative tolerance says whether the difference matters.
//!
//! The test runs on histogram buckets: values in one bucket (within 0.1% of each other)
//! count as ties, and the tie correction accounts for them.

use std::time::Duration;

use crate::histogram::LatencyHistogram;
use crate::snapshot::Snapshot;

/// How to judge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareConfig {
    /// Confidence needed to call a difference (e.g. 0.95: p < 0.05).
    pub confidence: f64,
    /// Relative change of the median below which a significant difference still counts
    /// as the same (e.g. 0.10: ±10%).
    pub tolerance: f64,
    /// Fewer samples than this on either side gives [`BaselineVerdict::InsufficientData`].
    pub min_samples: u64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            tolerance: 0.10,
            min_samples: 50,
        }
    }
}

/// The judgement on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineVerdict {
    /// The candidate is significantly and materially higher (slower).
    Higher,
    /// The candidate is significantly and materially lower (faster).
    Lower,
    /// No difference that is both significant and beyond the tolerance.
    Same,
    /// Too few samples to say; never a silent pass.
    InsufficientData,
}

/// The result of comparing a candidate with a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The judgement.
    pub verdict: BaselineVerdict,
    /// Two-sided p-value of the Mann-Whitney U test (1.0 when not computed).
    pub p_value: f64,
    /// `1 - p_value`.
    pub confidence: f64,
    /// Samples on each side.
    pub samples: (u64, u64),
    /// Medians (baseline, candidate).
    pub medians: (Duration, Duration),
    /// `(candidate median - baseline median) / baseline median`.
    pub relative_change: f64,
}

/// Compares two latency distributions.
pub fn compare(
    baseline: &LatencyHistogram,
    candidate: &LatencyHistogram,
    config: &CompareConfig,
) -> Comparison {
    let (n1, n2) = (baseline.count(), candidate.count());
    let medians = (
        baseline.percentile(50.0).unwrap_or_default(),
        candidate.percentile(50.0).unwrap_or_default(),
    );
    let base_median = medians.0.as_secs_f64();
    let relative_change = if base_median > 0.0 {
        (medians.1.as_secs_f64() - base_median) / base_median
    } else {
        0.0
    };
    let mut out = Comparison {
        verdict: BaselineVerdict::InsufficientData,
        p_value: 1.0,
        confidence: 0.0,
        samples: (n1, n2),
        medians,
        relative_change,
    };
    if n1 < config.min_samples.max(1) || n2 < config.min_samples.max(1) {
        return out;
    }
    let (u_baseline, p) = mann_whitney(baseline, candidate);
    out.p_value = p;
    out.confidence = 1.0 - p;
    let significant = p < 1.0 - config.confidence;
    let mean_u = n1 as f64 * n2 as f64 / 2.0;
    out.verdict = if !significant || relative_change.abs() <= config.tolerance {
        BaselineVerdict::Same
    } else if u_baseline < mean_u {
        // The baseline's values rank low: the candidate's are higher.
        BaselineVerdict::Higher
    } else {
        BaselineVerdict::Lower
    };
    out
}

/// Compares every request name present in both runs (latency from the actual send).
pub fn compare_snapshots(
    baseline: &Snapshot,
    candidate: &Snapshot,
    config: &CompareConfig,
) -> Vec<(String, Comparison)> {
    baseline
        .endpoints()
        .iter()
        .filter_map(|(name, b)| {
            let c = candidate.endpoints().get(name)?;
            Some((name.clone(), compare(&b.latency, &c.latency, config)))
        })
        .collect()
}

/// The baseline's U statistic and the two-sided p-value (normal approximation with
/// tie and continuity corrections).
fn mann_whitney(a: &LatencyHistogram, b: &LatencyHistogram) -> (f64, f64) {
    let (n1, n2) = (a.count() as f64, b.count() as f64);
    let n = n1 + n2;
    let mut xs = a.buckets().peekable();
    let mut ys = b.buckets().peekable();
    let (mut rank_sum_a, mut position, mut ties) = (0.0f64, 0.0f64, 0.0f64);
    loop {
        let (ca, cb) = match (xs.peek().copied(), ys.peek().copied()) {
            (None, None) => break,
            (Some((va, ca)), Some((vb, cb))) if va == vb => {
                xs.next();
                ys.next();
                (ca, cb)
            }
            (Some((va, ca)), Some((vb, _))) if va < vb => {
                xs.next();
                (ca, 0)
            }
            (Some((_, ca)), None) => {
                xs.next();
                (ca, 0)
            }
            (_, Some((_, cb))) => {
                ys.next();
                (0, cb)
            }
        };
        let t = (ca + cb) as f64;
        let mid_rank = position + (t + 1.0) / 2.0;
        rank_sum_a += ca as f64 * mid_rank;
        position += t;
        ties += t * t * t - t;
    }
    let u_a = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        // Every value tied: no evidence of a difference.
        return (u_a, 1.0);
    }
    let diff = (u_a - mean).abs();
    let z = (diff - 0.5).max(0.0) / variance.sqrt();
    (u_a, erfc(z / std::f64::consts::SQRT_2).min(1.0))
}

/// The complementary error function, |error| < 1.2e-7 (Numerical Recipes' erfcc).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (-1.0, 1.842_700_793),
        ] {
            assert!((erfc(x) - want).abs() < 2e-7, "erfc({x}) = {}", erfc(x));
        }
    }

    #[test]
    fn u_statistic_matches_a_hand_computed_example() {
        // a = {1,2,3}, b = {4,5}: every a below every b, so U_a = 0.
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        [1, 2, 3].into_iter().for_each(|v| a.record_us(v));
        [4, 5].into_iter().for_each(|v| b.record_us(v));
        let (u, _) = mann_whitney(&a, &b);
        assert_eq!(u, 0.0);
        // With a tie: a = {1,2}, b = {2,3}: ranks 1, 2.5, 2.5, 4; R_a = 3.5, U_a = 0.5.
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        [1, 2].into_iter().for_each(|v| a.record_us(v));
        [2, 3].into_iter().for_each(|v| b.record_us(v));
        assert_eq!(mann_whitney(&a, &b).0, 0.5);
    }
}
