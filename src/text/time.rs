//! Durations and moments as people type them: one parser for every duration flag and the
//! config file (a bare number is seconds; `90s`, `30m`, `2h`, `7d`, `1h 30m` through
//! `humantime`), and the times `report` and `--replay` take.

use std::time::Duration;

/// A point in time given as a time, or as a duration back from another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Moment {
    Ago(Duration),
    At(chrono::DateTime<chrono::Utc>),
}

/// The one rule: a bare number (`90`, `0.5`) is seconds; anything else is a duration with
/// units as `humantime` reads them (`90s`, `30m`, `36h`, `7d`, `1h 30m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = any_duration(text)?;
    // One bound whatever the units: `99999999999999d` is no more a real timeout than 1e14.
    if duration.as_secs_f64() > MAX_SECONDS {
        return Err(out_of_range(text.trim()));
    }
    Ok(duration)
}

fn out_of_range(t: &str) -> String {
    format!("`{t}` is out of range (at most {MAX_SECONDS:e} seconds)")
}

/// [`parse_duration`] without its bound: a moment that far back is said to reach back before
/// any date, which is the clearer thing to say.
fn any_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let not_a_duration = || format!("`{t}` is not a duration (90 for seconds, 90s, 30m, 2h, 7d)");
    match t.parse::<f64>() {
        Ok(seconds) if !seconds.is_finite() => Err(not_a_duration()),
        Ok(seconds) if seconds < 0.0 => Err(out_of_range(t)),
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| out_of_range(t)),
        Err(_) => humantime::parse_duration(t).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => out_of_range(t),
            _ => not_a_duration(),
        }),
    }
}

/// The longest duration taken (about 31,700 years): anything longer is a typo, and would
/// overflow the clocks it is added to.
const MAX_SECONDS: f64 = 1e12;

/// A moment: a duration back (`2h`) or a time (`2026-11-29 03:00`).
pub fn parse_moment(text: &str) -> Result<Moment, String> {
    any_duration(text).map(Moment::Ago).or_else(|_| parse_time(text).map(Moment::At))
}

/// `2026-11-29 03:00` (or with seconds, or a `T`) in local time, or RFC 3339.
pub fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            if let Some(t) = chrono::Local.from_local_datetime(&naive).earliest() {
                return Ok(t.with_timezone(&chrono::Utc));
            }
        }
    }
    // A day alone: its midnight.
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) =
            day.and_hms_opt(0, 0, 0).and_then(|n| chrono::Local.from_local_datetime(&n).earliest())
        {
            return Ok(t.with_timezone(&chrono::Utc));
        }
    }
    Err(format!("`{text}` is not a time (2026-11-29 03:00) or a duration (24h)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bound_whatever_the_units_and_no_infinities() {
        for text in ["99999999999999d", "500000y", "1e13", "-5"] {
            assert!(parse_duration(text).unwrap_err().contains("out of range"), "{text}");
        }
        for text in ["nan", "inf", "-inf", "1e400"] {
            assert!(parse_duration(text).unwrap_err().contains("not a duration"), "{text}");
        }
        assert_eq!(parse_duration("1000000000000"), Ok(Duration::from_secs(1_000_000_000_000)));
    }

    #[test]
    fn a_bare_number_is_seconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 0.5 "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn units_are_read_as_humantime_reads_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)), "as before humantime");
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn garbage_is_one_line_naming_what_was_typed() {
        for bad in ["soon", "5x", "-3", "", "1e400"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains(&format!("`{}`", bad.trim())), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_moment_is_a_duration_back_or_a_time() {
        assert_eq!(parse_moment("2h"), Ok(Moment::Ago(Duration::from_secs(7200))));
        assert!(matches!(parse_moment("2026-11-29 03:00"), Ok(Moment::At(_))));
        assert!(parse_moment("yesterday-ish").is_err());
    }
}
