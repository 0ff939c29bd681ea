//! Metric values as functions of time, so simulated GPUs move without any randomness.

use serde::Deserialize;

/// A number, or a sine wave: `{ base = 50, amplitude = 40, period_s = 30, phase = 0.25 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Signal {
    Constant(f64),
    Wave(Wave),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    pub base: f64,
    #[serde(default)]
    pub amplitude: f64,
    #[serde(default = "default_period")]
    pub period_s: f64,
    /// Fraction of a period to shift by, so GPUs of one fleet do not move in lockstep.
    #[serde(default)]
    pub phase: f64,
}

fn default_period() -> f64 {
    60.0
}

impl Signal {
    /// The value at `t` seconds; never negative.
    pub fn at(&self, t: f64) -> f64 {
        match self {
            Self::Constant(v) => *v,
            Self::Wave(w) => {
                let turns = t / w.period_s.max(0.001) + w.phase;
                (w.base + w.amplitude * (turns * std::f64::consts::TAU).sin()).max(0.0)
            }
        }
    }

    /// The lowest and highest values it takes.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Self::Constant(v) => (*v, *v),
            Self::Wave(w) => (w.base - w.amplitude.abs(), w.base + w.amplitude.abs()),
        }
    }

    /// As written in a scenario: `900`, or `{ base = 90, amplitude = 20 }`.
    pub fn describe(&self) -> String {
        match self {
            Self::Constant(v) => v.to_string(),
            Self::Wave(w) => format!("{{ base = {}, amplitude = {} }}", w.base, w.amplitude),
        }
    }

    /// The mean over a period.
    pub fn mean(&self) -> f64 {
        match self {
            Self::Constant(v) => *v,
            Self::Wave(w) => w.base,
        }
    }
}

impl From<f64> for Signal {
    fn from(v: f64) -> Self {
        Self::Constant(v)
    }
}

/// When a process exists: on for `on_s` seconds out of every `period_s`, shifted by `offset_s`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub period_s: f64,
    pub on_s: f64,
    #[serde(default)]
    pub offset_s: f64,
}

impl Activity {
    pub fn is_on(&self, t: f64) -> bool {
        (t + self.offset_s).rem_euclid(self.period_s.max(0.001)) < self.on_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wave_oscillates_around_its_base() {
        let s = Signal::Wave(Wave { base: 50.0, amplitude: 40.0, period_s: 4.0, phase: 0.0 });
        assert!((s.at(0.0) - 50.0).abs() < 1e-9);
        assert!((s.at(1.0) - 90.0).abs() < 1e-9);
        assert!((s.at(3.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn activity_is_periodic() {
        let a = Activity { period_s: 10.0, on_s: 4.0, offset_s: 0.0 };
        assert!(a.is_on(0.0) && a.is_on(13.0));
        assert!(!a.is_on(5.0) && !a.is_on(19.0));
    }
}
