//! Percentile summaries of microsecond samples, as the JSON every mode prints.

use serde::Serialize;

/// Order statistics of a set of samples, in microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
    /// Smallest sample.
    pub min_us: f64,
    /// Largest sample.
    pub max_us: f64,
}

impl Summary {
    /// Summarises `samples` (any order); an empty set summarises to zeros.
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Self {
                count: 0,
                p50_us: 0.0,
                p90_us: 0.0,
                p99_us: 0.0,
                mean_us: 0.0,
                min_us: 0.0,
                max_us: 0.0,
            };
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        Self {
            count: sorted.len(),
            p50_us: percentile(&sorted, 50.0),
            p90_us: percentile(&sorted, 90.0),
            p99_us: percentile(&sorted, 99.0),
            mean_us: round(mean),
            min_us: sorted[0],
            max_us: sorted[sorted.len() - 1],
        }
    }
}

/// Nearest-rank percentile of sorted samples (the sample at or above `p`% of the set),
/// so p99 of 1,000 samples is the 990th: a real observation, never an interpolation.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds to one decimal: finer than the clock's honesty is noise.
pub fn round(us: f64) -> f64 {
    (us * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_samples_have_their_99th_as_p99_and_their_50th_as_median() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let summary = Summary::of(&samples);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_us, 50.0);
        assert_eq!(summary.p99_us, 99.0);
        assert_eq!(summary.min_us, 1.0);
        assert_eq!(summary.max_us, 100.0);
        assert_eq!(summary.mean_us, 50.5);
    }

    #[test]
    fn one_slow_request_in_a_hundred_is_not_hidden_by_p99_of_a_smaller_run() {
        let mut samples = vec![100.0; 49];
        samples.push(5000.0);
        assert_eq!(Summary::of(&samples).p99_us, 5000.0);
    }

    #[test]
    fn no_samples_summarise_to_zeros_rather_than_panicking() {
        assert_eq!(Summary::of(&[]).count, 0);
    }
}
