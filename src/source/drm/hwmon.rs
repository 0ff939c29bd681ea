//! A GPU's hwmon sensors (`Documentation/hwmon/sysfs-interface.rst`, and for each driver
//! `Documentation/gpu/amdgpu/thermal.rst`, i915's and xe's `sysfs-driver-*-hwmon` ABI):
//! temperatures in millidegrees with their labels, power and its cap in microwatts, energy in
//! microjoules, the fan's PWM duty, clocks in hertz.
//!
//! The power limit's file depends on the driver: amdgpu's is `power1_cap`; i915's and xe's
//! is `power1_max`, the sustained limit (PL1), where 0 means the limit is disabled
//! (`sysfs-driver-intel-i915-hwmon`, `sysfs-driver-intel-xe-hwmon`). xe's `power1_cap` is
//! the burst limit (PL2), not the one the card holds to.

use std::path::Path;

use super::cards::{number, Driver};

/// What the hwmon directory says now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sensors {
    /// The GPU's temperature: `edge` (AMD), else `junction`, else the package's (`pkg`, Intel),
    /// else the first sensor.
    pub temperature_celsius: Option<u32>,
    /// That sensor's critical and emergency (shutdown) limits.
    pub critical_celsius: Option<u32>,
    pub emergency_celsius: Option<u32>,
    /// `power1_average`, else `power1_input`.
    pub power_watts: Option<f64>,
    /// The power cap (`power1_cap`, amdgpu) or sustained limit (`power1_max`, Intel; `None`
    /// where it reads 0: no limit).
    pub power_limit_watts: Option<f64>,
    /// The card's energy counter (`energy1_input`): power is its change over time.
    pub energy_joules: Option<f64>,
    /// The fan's PWM duty as a percentage of `pwm1_max` (255 where the file is absent).
    pub fan_percent: Option<u32>,
    /// `freq1_input` (amdgpu's sclk) and `freq2_input` (mclk), in MHz.
    pub sclk_mhz: Option<u32>,
    pub mclk_mhz: Option<u32>,
}

impl Sensors {
    /// The sensors now; `temperature_sensor` is [`temperature_sensor`]'s choice, made once (the
    /// layout is fixed while the driver is loaded: looking for it costs 8 stats a card).
    pub fn read(dir: &Path, driver: Driver, temperature_sensor: Option<u32>) -> Self {
        let at = |name: &str| number(&dir.join(name));
        let (temperature, critical, emergency) = temperature(dir, temperature_sensor);
        let micro = |v: u64| v as f64 / 1e6;
        let pwm_max = at("pwm1_max").filter(|&m| m > 0).unwrap_or(255);
        Self {
            temperature_celsius: temperature,
            critical_celsius: critical,
            emergency_celsius: emergency,
            power_watts: at("power1_average").or_else(|| at("power1_input")).map(micro),
            power_limit_watts: match driver {
                Driver::Amdgpu => at("power1_cap").map(micro),
                Driver::I915 | Driver::Xe => at("power1_max").filter(|&uw| uw > 0).map(micro),
            },
            energy_joules: at("energy1_input").map(micro),
            fan_percent: at("pwm1").map(|p| (p.min(pwm_max) * 100 / pwm_max) as u32),
            sclk_mhz: at("freq1_input").map(|hz| (hz / 1_000_000) as u32),
            mclk_mhz: at("freq2_input").map(|hz| (hz / 1_000_000) as u32),
        }
    }
}

/// The card's energy counter alone (J), for power from its change.
pub fn energy_joules(dir: &Path) -> Option<f64> {
    number(&dir.join("energy1_input")).map(|uj| uj as f64 / 1e6)
}

/// The GPU's temperature sensor `n` and its limits, in °C.
fn temperature(dir: &Path, n: Option<u32>) -> (Option<u32>, Option<u32>, Option<u32>) {
    let Some(n) = n else { return (None, None, None) };
    let celsius = |suffix: &str| {
        number(&dir.join(format!("temp{n}_{suffix}"))).map(|milli| (milli / 1000) as u32)
    };
    (celsius("input"), celsius("crit"), celsius("emergency"))
}

/// Which `tempN` is the GPU's: by its label `edge` (AMD), else `junction`, else `pkg`
/// (Intel), else the first sensor; `None` where there is none.
pub fn temperature_sensor(dir: &Path) -> Option<u32> {
    let sensors: Vec<(u32, String)> = (1..=8)
        .filter(|n| dir.join(format!("temp{n}_input")).exists())
        .map(|n| {
            let label = super::cards::read(&dir.join(format!("temp{n}_label"))).unwrap_or_default();
            (n, label)
        })
        .collect();
    let chosen = ["edge", "junction", "pkg"]
        .iter()
        .find_map(|want| sensors.iter().find(|(_, label)| label == want))
        .or(sensors.first());
    chosen.map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amdgpu_sensors_as_thermal_rst_describes_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            ("temp1_input", "45000"),
            ("temp1_label", "edge"),
            ("temp1_crit", "100000"),
            ("temp1_emergency", "105000"),
            ("temp2_input", "61000"),
            ("temp2_label", "junction"),
            ("power1_average", "211000000"),
            ("power1_cap", "303000000"),
            ("pwm1", "128"),
            ("pwm1_max", "255"),
            ("freq1_input", "2482000000"),
            ("freq2_input", "1249000000"),
        ];
        for (name, value) in files {
            std::fs::write(dir.path().join(name), format!("{value}\n")).unwrap();
        }
        let s = Sensors::read(dir.path(), Driver::Amdgpu, temperature_sensor(dir.path()));
        assert_eq!(temperature_sensor(dir.path()), Some(1), "edge, before junction");
        assert_eq!(
            (s.temperature_celsius, s.critical_celsius, s.emergency_celsius),
            (Some(45), Some(100), Some(105))
        );
        assert_eq!((s.power_watts, s.power_limit_watts), (Some(211.0), Some(303.0)));
        assert_eq!((s.fan_percent, s.sclk_mhz, s.mclk_mhz), (Some(50), Some(2482), Some(1249)));
        assert_eq!(s.energy_joules, None);
    }

    #[test]
    fn no_sensor_is_no_value() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Sensors::read(dir.path(), Driver::Xe, temperature_sensor(dir.path())),
            Sensors::default()
        );
    }

    #[test]
    fn intels_limit_is_power1_max_and_0_is_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        // xe's power1_cap is the burst limit (PL2), not the sustained one.
        std::fs::write(dir.path().join("power1_cap"), "400000000\n").unwrap();
        std::fs::write(dir.path().join("power1_max"), "190000000\n").unwrap();
        assert_eq!(Sensors::read(dir.path(), Driver::Xe, None).power_limit_watts, Some(190.0));
        assert_eq!(Sensors::read(dir.path(), Driver::Amdgpu, None).power_limit_watts, Some(400.0));
        std::fs::write(dir.path().join("power1_max"), "0\n").unwrap();
        assert_eq!(
            Sensors::read(dir.path(), Driver::I915, None).power_limit_watts,
            None,
            "disabled"
        );
    }
}
