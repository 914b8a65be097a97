//! Kubernetes resource quantities (`500m`, `1.5`, `300Mi`, `2G`, `1e3`) as numbers the
//! scheduler and the OOM check can compare, and back to the canonical text the real kubelet
//! prints in eviction messages.

/// CPU in millicores, rounded up like the API server does. `None` when not a quantity.
pub fn parse_cpu_millis(text: &str) -> Option<i64> {
    parse(text).map(|v| (v * 1000.0).ceil() as i64)
}

/// Memory (or any byte quantity) in bytes, rounded up. `None` when not a quantity.
pub fn parse_bytes(text: &str) -> Option<i64> {
    parse(text).map(|v| v.ceil() as i64)
}

fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    let v = value * factor;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// Bytes in the binary-suffix form Kubernetes prints (`300Mi`, `1Gi`, `1536Ki`, `0`).
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    if bytes == 0 {
        return "0".into();
    }
    for (unit, size) in UNITS {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_forms() {
        assert_eq!(parse_cpu_millis("500m"), Some(500));
        assert_eq!(parse_cpu_millis("1.5"), Some(1500));
        assert_eq!(parse_cpu_millis("2"), Some(2000));
        assert_eq!(parse_cpu_millis("100u"), Some(1));
        assert_eq!(parse_cpu_millis("lots"), None);
    }

    #[test]
    fn parses_memory_forms() {
        assert_eq!(parse_bytes("300Mi"), Some(300 << 20));
        assert_eq!(parse_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_bytes("1G"), Some(1_000_000_000));
        assert_eq!(parse_bytes("128974848"), Some(128_974_848));
        assert_eq!(parse_bytes("129e6"), Some(129_000_000));
        assert_eq!(parse_bytes("-1Mi"), None);
        assert_eq!(parse_bytes("12Q"), None);
    }

    #[test]
    fn formats_like_kubernetes() {
        assert_eq!(format_bytes(300 << 20), "300Mi");
        assert_eq!(format_bytes(1 << 30), "1Gi");
        assert_eq!(format_bytes(1536 << 10), "1536Ki");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(0), "0");
    }
}
