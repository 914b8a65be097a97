//! PURE: Kubernetes resource quantities (`500m`, `1.5`, `300Mi`, `2G`) as numbers the guards can
//! compare and multiply. CPU is counted in millicores, memory in bytes.

/// Which resource a quantity measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }

    /// The quantity in this resource's unit (millicores or bytes), rounded up like the API
    /// server does. `None` when the text is not a quantity.
    pub fn parse(self, text: &str) -> Option<i64> {
        let v = parse(text)?;
        let scaled = match self {
            Resource::Cpu => v * 1000.0,
            Resource::Memory => v,
        };
        (scaled <= i64::MAX as f64).then(|| scaled.ceil() as i64)
    }

    /// A canonical text for an amount in this resource's unit.
    pub fn format(self, amount: i64) -> String {
        match self {
            Resource::Cpu if amount % 1000 == 0 => format!("{}", amount / 1000),
            Resource::Cpu => format!("{amount}m"),
            Resource::Memory => format_bytes(amount),
        }
    }
}

fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() {
        return None;
    }
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

/// Bytes with the largest binary suffix that divides them (`128Mi`, `1536Ki`, `1000`).
pub fn format_bytes(bytes: i64) -> String {
    for (unit, size) in [
        ("Ti", 1i64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let m = Resource::Memory;
        assert_eq!(m.parse("128Mi"), Some(128 << 20));
        assert_eq!(m.parse("1Gi"), Some(1 << 30));
        assert_eq!(m.parse("0.5Gi"), Some(512 << 20));
        assert_eq!(m.parse("1G"), Some(1_000_000_000));
        assert_eq!(m.parse("1e3"), Some(1000));
        assert_eq!(m.parse("lots"), None);
        assert_eq!(m.parse("-1Mi"), None);
        assert_eq!(m.parse("Mi"), None);
        let c = Resource::Cpu;
        assert_eq!(c.parse("500m"), Some(500));
        assert_eq!(c.parse("1.5"), Some(1500));
        assert_eq!(c.parse("2"), Some(2000));
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(Resource::Memory.format(128 << 20), "128Mi");
        assert_eq!(Resource::Memory.format(1536 << 10), "1536Ki");
        assert_eq!(Resource::Memory.format(1000), "1000");
        assert_eq!(Resource::Cpu.format(1500), "1500m");
        assert_eq!(Resource::Cpu.format(2000), "2");
    }
}
