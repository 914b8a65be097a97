//! Kubernetes resource quantities (`500m`, `1.5`, `300Mi`, `2G`, `1e3`) as numbers the
//! scheduler and the OOM check can compare, and back to the canonical text the real kubelet
//! prints in eviction messages. The parsing is the one the actions' guards use.

use crate::actions::quantity::Resource;

pub use crate::actions::quantity::format_bytes;

/// CPU in millicores, rounded up like the API server does. `None` when not a quantity.
pub fn parse_cpu_millis(text: &str) -> Option<i64> {
    Resource::Cpu.parse(text)
}

/// Memory (or any byte quantity) in bytes, rounded up. `None` when not a quantity.
pub fn parse_bytes(text: &str) -> Option<i64> {
    Resource::Memory.parse(text)
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
