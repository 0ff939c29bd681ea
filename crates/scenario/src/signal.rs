//! Metric values as functions of time, so simulated GPUs move without any randomness.

use serde::Deserialize;

/// A number, a sine wave (`{ base = 50, amplitude = 40, period_s = 30, phase = 0.25 }`), or
/// a schedule of levels that repeats (`{ steps = [[0, 90], [300, 2]], period_s = 3600 }`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Signal {
    Constant(f64),
    Wave(Wave),
    Steps(Steps),
}

/// Levels held from given offsets into each period: `[[0, 90], [300, 2]]` is 90 for the first
/// 300 s of every period and 2 for the rest. Periods start on multiples of `period_s` since
/// the Unix epoch, so a test whose clock starts on the hour (libfaketime) knows every value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// `[offset_s, value]`, offsets rising from 0.
    pub steps: Vec<[f64; 2]>,
    #[serde(default = "default_steps_period")]
    pub period_s: f64,
}

fn default_steps_period() -> f64 {
    3600.0
}

impl Steps {
    fn period(&self) -> f64 {
        self.period_s.max(0.001)
    }

    /// Offsets that start at 0 and rise within the period.
    pub fn is_well_formed(&self) -> bool {
        self.steps.first().is_some_and(|[from, _]| *from == 0.0)
            && self.steps.windows(2).all(|w| w[0][0] < w[1][0])
            && self.steps.iter().all(|[from, v]| *from < self.period_s && v.is_finite())
    }

    fn at(&self, t: f64) -> f64 {
        let offset = t.rem_euclid(self.period());
        self.steps.iter().take_while(|[from, _]| *from <= offset).last().map_or(0.0, |s| s[1])
    }

    /// The integral from the start of `t`'s period to `t`.
    fn integral_in_period(&self, offset: f64) -> f64 {
        let mut sum = 0.0;
        for (i, [from, value]) in self.steps.iter().enumerate() {
            let to = self.steps.get(i + 1).map_or(self.period(), |s| s[0]).min(offset);
            sum += value * (to - from).max(0.0);
        }
        sum
    }
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
            Self::Steps(s) => s.at(t).max(0.0),
        }
    }

    /// The integral from 0 to `t` (a wave's by its mean), for counters such as energy.
    pub fn integral(&self, t: f64) -> f64 {
        match self {
            Self::Constant(v) => v * t,
            Self::Wave(w) => w.base * t,
            Self::Steps(s) => {
                let whole = (t / s.period()).floor();
                whole * s.integral_in_period(s.period())
                    + s.integral_in_period(t - whole * s.period())
            }
        }
    }

    /// The lowest and highest values it takes.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Self::Constant(v) => (*v, *v),
            Self::Wave(w) => (w.base - w.amplitude.abs(), w.base + w.amplitude.abs()),
            Self::Steps(s) => s
                .steps
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), [_, v]| (lo.min(*v), hi.max(*v))),
        }
    }

    /// As written in a scenario: `900`, or `{ base = 90, amplitude = 20 }`.
    pub fn describe(&self) -> String {
        match self {
            Self::Constant(v) => v.to_string(),
            Self::Wave(w) => format!("{{ base = {}, amplitude = {} }}", w.base, w.amplitude),
            Self::Steps(s) => format!("{{ steps = {:?}, period_s = {} }}", s.steps, s.period_s),
        }
    }

    /// The mean over a period.
    pub fn mean(&self) -> f64 {
        match self {
            Self::Constant(v) => *v,
            Self::Wave(w) => w.base,
            Self::Steps(s) => s.integral_in_period(s.period()) / s.period(),
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

    /// How long it has been on at `t` (since it last came on); `None` while it is off.
    pub fn on_for(&self, t: f64) -> Option<f64> {
        let into_period = (t + self.offset_s).rem_euclid(self.period_s.max(0.001));
        (into_period < self.on_s).then_some(into_period)
    }

    /// How long it is on between `from` and `to`.
    pub fn on_time(&self, from: f64, to: f64) -> f64 {
        // On-time from the start of the period grid up to `t`.
        let up_to = |t: f64| {
            let period = self.period_s.max(0.001);
            let shifted = t + self.offset_s;
            let whole = (shifted / period).floor();
            whole * self.on_s.min(period) + (shifted - whole * period).min(self.on_s)
        };
        (up_to(to) - up_to(from)).max(0.0)
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
    fn steps_hold_each_level_and_integrate_exactly() {
        let s = Signal::Steps(Steps { steps: vec![[0.0, 90.0], [300.0, 2.0]], period_s: 3600.0 });
        assert_eq!((s.at(0.0), s.at(299.0), s.at(300.0), s.at(3599.0)), (90.0, 90.0, 2.0, 2.0));
        assert_eq!(s.at(3600.0 * 5.0 + 10.0), 90.0, "every period again");
        assert_eq!(s.integral(400.0), 300.0 * 90.0 + 100.0 * 2.0);
        assert_eq!(s.integral(3600.0 + 10.0), 300.0 * 90.0 + 3300.0 * 2.0 + 900.0);
        assert_eq!(s.bounds(), (2.0, 90.0));
        let toml: Signal = toml::from_str::<std::collections::HashMap<String, Signal>>(
            "v = { steps = [[0, 1], [5, 3]], period_s = 10 }",
        )
        .unwrap()
        .remove("v")
        .unwrap();
        assert_eq!(toml.at(7.0), 3.0);
    }

    #[test]
    fn activity_is_periodic() {
        let a = Activity { period_s: 10.0, on_s: 4.0, offset_s: 0.0 };
        assert!(a.is_on(0.0) && a.is_on(13.0));
        assert!(!a.is_on(5.0) && !a.is_on(19.0));
        assert_eq!(a.on_time(0.0, 10.0), 4.0);
        assert_eq!(a.on_time(2.0, 23.0), 2.0 + 4.0 + 3.0);
        assert_eq!(a.on_time(5.0, 9.0), 0.0);
        assert_eq!((a.on_for(13.0), a.on_for(5.0)), (Some(3.0), None));
    }
}
