//! Causes read from the messages Kubernetes writes: a missing ConfigMap or Secret (or key), an
//! exhausted ResourceQuota, an image registry failing. Plain string parsing, no allocation
//! until a cause is found.

use super::signal::Cause;

/// A ConfigMap or Secret a message says is missing, with the key when only a key is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingObject<'a> {
    /// `ConfigMap` or `Secret`.
    pub kind: &'static str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub key: Option<&'a str>,
}

impl MissingObject<'_> {
    pub fn cause(&self) -> Cause {
        Cause::MissingObject {
            kind: self.kind.to_string(),
            namespace: self.namespace.to_string(),
            name: self.name.to_string(),
        }
    }
}

/// Reads the kubelet's messages for missing config, as found in CreateContainerConfigError
/// and FailedMount:
/// - `configmap "app-config" not found`, `secret "db-creds" not found` (also the plural
///   `secrets "x" not found` of API errors), anywhere in the message, e.g.
///   `MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found`;
/// - `couldn't find key DB_URL in ConfigMap shop/app-config` (and `in Secret ns/name`).
///
/// `namespace` is the pod's: the not-found form does not name it.
pub fn missing_object<'a>(message: &'a str, namespace: &'a str) -> Option<MissingObject<'a>> {
    missing_key(message).or_else(|| not_found(message, namespace))
}

fn not_found<'a>(message: &'a str, namespace: &'a str) -> Option<MissingObject<'a>> {
    let mut rest = message;
    while let Some(end) = rest.find("\" not found") {
        let head = &rest[..end];
        if let Some(open) = head.rfind('"') {
            let name = &head[open + 1..];
            let word = head[..open]
                .trim_end()
                .rsplit(|c: char| c.is_whitespace() || c == ':' || c == '(')
                .next()
                .unwrap_or_default();
            if let Some(kind) = config_kind(word)
                && !name.is_empty()
            {
                return Some(MissingObject {
                    kind,
                    namespace,
                    name,
                    key: None,
                });
            }
        }
        rest = &rest[end + 1..];
    }
    None
}

fn missing_key(message: &str) -> Option<MissingObject<'_>> {
    let at = message
        .find("couldn't find key ")
        .or_else(|| message.find("Couldn't find key "))?;
    let rest = &message[at + "couldn't find key ".len()..];
    let (key, rest) = rest.split_once(" in ")?;
    let (kind, rest) = rest.split_once(' ')?;
    let kind = config_kind(kind)?;
    let reference = rest.split_whitespace().next()?;
    let (namespace, name) = reference.split_once('/')?;
    Some(MissingObject {
        kind,
        namespace,
        name: name.trim_end_matches([',', '.', ';']),
        key: Some(key),
    })
}

fn config_kind(word: &str) -> Option<&'static str> {
    if word.eq_ignore_ascii_case("configmap") || word.eq_ignore_ascii_case("configmaps") {
        Some("ConfigMap")
    } else if word.eq_ignore_ascii_case("secret") || word.eq_ignore_ascii_case("secrets") {
        Some("Secret")
    } else {
        None
    }
}

/// The quota named in an admission refusal: `pods "web-7d4b9-x" is forbidden: exceeded quota:
/// compute, requested: ...` (or `exceeded quota: shop/compute` in newer servers).
pub fn exhausted_quota(message: &str, namespace: &str) -> Option<Cause> {
    let at = message.find("exceeded quota: ")?;
    let rest = &message[at + "exceeded quota: ".len()..];
    let end = rest
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    let quota = &rest[..end];
    let (namespace, name) = quota.split_once('/').unwrap_or((namespace, quota));
    (!name.is_empty()).then(|| Cause::QuotaExhausted {
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

/// The registry host of an image reference: the first path component when it looks like a
/// host (has a `.` or a `:`, or is `localhost`), else Docker Hub.
pub fn registry_host(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.split_once('/') {
        Some(("index.docker.io" | "registry-1.docker.io", _)) => "docker.io",
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// The class of an image pull error, from the waiting reason and the message: `invalid_name`,
/// `not_found`, `unauthorized`, `unreachable` or `other` (the back-off message names no
/// error).
pub fn pull_error_class(reason: &str, message: &str) -> &'static str {
    if reason == "InvalidImageName" || contains_ci(message, "invalid reference format") {
        return "invalid_name";
    }
    if reason == "ErrImageNeverPull" {
        return "not_found";
    }
    const UNREACHABLE: &[&str] = &[
        "no such host",
        "i/o timeout",
        "connection refused",
        "connection reset",
        "network is unreachable",
        "tls handshake timeout",
        "context deadline exceeded",
        "server misbehaving",
        "awaiting headers",
        "service unavailable",
        "bad gateway",
    ];
    const NOT_FOUND: &[&str] = &[
        "not found",
        "notfound",
        "manifest unknown",
        "name unknown",
        "does not exist",
    ];
    const UNAUTHORIZED: &[&str] = &[
        "unauthorized",
        "authentication required",
        "access denied",
        "denied:",
        "forbidden",
        "no basic auth credentials",
    ];
    if UNREACHABLE.iter().any(|p| contains_ci(message, p)) {
        "unreachable"
    } else if NOT_FOUND.iter().any(|p| contains_ci(message, p)) {
        "not_found"
    } else if UNAUTHORIZED.iter().any(|p| contains_ci(message, p)) {
        "unauthorized"
    } else {
        "other"
    }
}

/// The image named in `Failed to pull image "nginx:1.99": ...` or `Back-off pulling image
/// "nginx:1.99"`.
pub fn quoted_image(message: &str) -> Option<&str> {
    let at = message.find("image \"")? + "image \"".len();
    let end = message[at..].find('"')? + at;
    Some(&message[at..end])
}

/// ASCII case-insensitive substring search, without lowercasing a copy.
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}
