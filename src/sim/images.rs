//! Image references: which ones "do not exist" (the sim's missing-image rules), the pull error a
//! containerd 1.4 node reports for them, and stable fake image and container IDs.

use sha2::{Digest, Sha256};

/// The missing-image rules of a [`super::SimConfig`].
#[derive(Debug, Clone, Default)]
pub struct ImageRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Rule {
    Exact(String),
    Prefix(String),
    Host(String),
}

impl ImageRules {
    pub fn new(rules: &[String]) -> Self {
        let rules = rules
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .map(|r| {
                if let Some(prefix) = r.strip_suffix('*') {
                    Rule::Prefix(prefix.to_string())
                } else if r.ends_with('/') {
                    Rule::Prefix(r.to_string())
                } else if !r.contains('/') && !r.contains(':') && r.contains('.') {
                    Rule::Host(r.to_string())
                } else {
                    Rule::Exact(r.to_string())
                }
            })
            .collect();
        Self { rules }
    }

    /// The pull error for `image`, or `None` when it can be pulled.
    pub fn pull_error(&self, image: &str) -> Option<String> {
        let full = normalize(image);
        let host = registry_host(&full);
        self.rules.iter().find_map(|rule| match rule {
            Rule::Exact(r) if r == image || normalize(r) == full => Some(not_found(&full)),
            Rule::Prefix(p) if image.starts_with(p.as_str()) || full.starts_with(p.as_str()) => {
                Some(not_found(&full))
            }
            Rule::Host(h) if h == host => Some(no_such_host(&full, h)),
            _ => None,
        })
    }
}

fn not_found(full: &str) -> String {
    format!(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"{full}\": \
         failed to resolve reference \"{full}\": {full}: not found"
    )
}

fn no_such_host(full: &str, host: &str) -> String {
    let (repo, tag) = split_tag(full.strip_prefix(&format!("{host}/")).unwrap_or(full));
    format!(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"{full}\": \
         failed to resolve reference \"{full}\": failed to do request: Head \
         \"https://{host}/v2/{repo}/manifests/{tag}\": dial tcp: lookup {host}: no such host"
    )
}

/// `nginx` -> `docker.io/library/nginx:latest`, `acme/app:1` -> `docker.io/acme/app:1`,
/// `ghcr.io/acme/app` -> `ghcr.io/acme/app:latest`, as containerd names them.
pub fn normalize(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let first = name.split('/').next().unwrap_or(name);
    let has_host =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = match (has_host, name.contains('/')) {
        (true, _) => name.to_string(),
        (false, true) => format!("docker.io/{name}"),
        (false, false) => format!("docker.io/library/{name}"),
    };
    match digest {
        Some(d) => {
            full.push('@');
            full.push_str(d);
        }
        None => {
            let last = full.rsplit('/').next().unwrap_or(&full);
            if !last.contains(':') {
                full.push_str(":latest");
            }
        }
    }
    full
}

fn registry_host(full: &str) -> &str {
    full.split('/').next().unwrap_or(full)
}

fn split_tag(repo_and_tag: &str) -> (&str, &str) {
    match repo_and_tag.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (repo_and_tag, "latest"),
    }
}

/// `docker.io/library/nginx@sha256:<hex>`: stable per image, like a registry digest.
pub fn image_id(image: &str) -> String {
    let full = normalize(image);
    let repo = match full.split_once('@') {
        Some((repo, _)) => repo.to_string(),
        None => split_tag(&full).0.to_string(),
    };
    format!("{repo}@sha256:{}", sha256_hex(&full))
}

/// `containerd://<64 hex>`, unique per pod, container and instance.
pub fn container_id(pod_uid: &str, container: &str, instance: u32) -> String {
    format!(
        "containerd://{}",
        sha256_hex(&format!("{pod_uid}/{container}/{instance}"))
    )
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_containerd() {
        assert_eq!(normalize("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalize("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(normalize("acme/app:1"), "docker.io/acme/app:1");
        assert_eq!(normalize("ghcr.io/acme/app"), "ghcr.io/acme/app:latest");
        assert_eq!(normalize("localhost:5000/app:2"), "localhost:5000/app:2");
    }

    #[test]
    fn rules_match_exact_prefix_and_host() {
        let rules = ImageRules::new(&[
            "nginx:1.99".into(),
            "ghcr.io/acme/".into(),
            "registry.invalid".into(),
        ]);
        let err = rules.pull_error("nginx:1.99").unwrap();
        assert!(err.starts_with("rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\""), "{err}");
        assert!(
            err.ends_with("docker.io/library/nginx:1.99: not found"),
            "{err}"
        );
        assert!(rules.pull_error("docker.io/library/nginx:1.99").is_some());
        assert!(rules.pull_error("nginx:1.25").is_none());
        assert!(rules.pull_error("ghcr.io/acme/api:3").is_some());
        let err = rules.pull_error("registry.invalid/shop/cart:7").unwrap();
        assert!(
            err.contains("Head \"https://registry.invalid/v2/shop/cart/manifests/7\""),
            "{err}"
        );
        assert!(
            err.ends_with("lookup registry.invalid: no such host"),
            "{err}"
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(
            image_id("nginx:1.25"),
            image_id("docker.io/library/nginx:1.25")
        );
        assert!(image_id("nginx:1.25").starts_with("docker.io/library/nginx@sha256:"));
        assert_ne!(container_id("u", "app", 0), container_id("u", "app", 1));
        assert_eq!(
            container_id("u", "app", 0).len(),
            "containerd://".len() + 64
        );
    }
}
