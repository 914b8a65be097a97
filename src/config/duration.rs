//! Durations in config files: read with humantime (`500ms`, `5s`, `15m`, `2h`, `90d`,
//! `1h30m`), written back in exact units (`90d`, not humantime's `2months 29days 2h 52m 48s`)
//! so `lookout check` prints what a person would have written.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({e}); write e.g. 500ms, 5s, 15m, 2h, 90d"
        ))
    })
}

/// Formats a duration as the sum of exact day/hour/minute/second/millisecond parts.
pub fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let mut ms = d.as_millis();
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_exact_units_and_parses_back() {
        for (d, text) in [
            (Duration::from_secs(90 * 86_400), "90d"),
            (Duration::from_secs(86_400), "1d"),
            (Duration::from_secs(90 * 60), "1h30m"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::from_secs(60), "1m"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(format(d), text);
            assert_eq!(humantime::parse_duration(text).unwrap(), d);
        }
    }
}
