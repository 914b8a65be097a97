//! Causes parsed from the messages Kubernetes writes.

use super::*;

#[test]
fn missing_configmaps_secrets_and_keys_are_read_from_kubelet_messages() {
    let cases = [
        (
            "configmap \"app-config\" not found",
            ("ConfigMap", "shop", "app-config", None),
        ),
        (
            "secret \"db-creds\" not found",
            ("Secret", "shop", "db-creds", None),
        ),
        (
            "Error: secret \"db-creds\" not found",
            ("Secret", "shop", "db-creds", None),
        ),
        (
            "secrets \"db-creds\" not found",
            ("Secret", "shop", "db-creds", None),
        ),
        (
            "MountVolume.SetUp failed for volume \"creds\" : secret \"db-creds\" not found",
            ("Secret", "shop", "db-creds", None),
        ),
        (
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found",
            ("ConfigMap", "shop", "app-config", None),
        ),
        (
            "couldn't find key DB_URL in ConfigMap shop/app-config",
            ("ConfigMap", "shop", "app-config", Some("DB_URL")),
        ),
        (
            "couldn't find key password in Secret other/db-creds",
            ("Secret", "other", "db-creds", Some("password")),
        ),
        (
            "Couldn't find key url in Secret shop/db",
            ("Secret", "shop", "db", Some("url")),
        ),
    ];
    for (message, (kind, namespace, name, key)) in cases {
        let found = missing_object(message, "shop").unwrap_or_else(|| panic!("{message}"));
        assert_eq!(
            (found.kind, found.namespace, found.name, found.key),
            (kind, namespace, name, key),
            "{message}"
        );
    }
}

#[test]
fn messages_that_name_no_missing_config_give_no_cause() {
    for message in [
        "Unable to attach or mount volumes: unmounted volumes=[creds]: timed out waiting for the condition",
        "persistentvolumeclaim \"data\" not found",
        "container has runAsNonRoot and image will run as root",
        "",
    ] {
        assert_eq!(missing_object(message, "shop"), None, "{message}");
    }
}

#[test]
fn quota_refusals_name_the_quota() {
    let old = "pods \"web-1\" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=4, limited: cpu=4";
    assert_eq!(
        exhausted_quota(old, "shop").unwrap().to_string(),
        "quota shop/compute exhausted"
    );
    let new = "pods \"web-1\" is forbidden: exceeded quota: shop/compute, requested: pods=1";
    assert_eq!(
        exhausted_quota(new, "other").unwrap().to_string(),
        "quota shop/compute exhausted"
    );
    assert_eq!(
        exhausted_quota(
            "pods \"web-1\" is forbidden: unable to validate against any pod security policy",
            "shop"
        ),
        None
    );
}

#[test]
fn registry_hosts_follow_docker_reference_rules() {
    for (image, host) in [
        ("nginx", "docker.io"),
        ("nginx:1.25", "docker.io"),
        ("library/nginx:1.25", "docker.io"),
        ("bitnami/redis:7.2", "docker.io"),
        ("docker.io/library/nginx:1.25", "docker.io"),
        ("index.docker.io/library/nginx", "docker.io"),
        ("ghcr.io/acme/api:2.0", "ghcr.io"),
        (
            "registry.example.com:5000/shop/web:1",
            "registry.example.com:5000",
        ),
        ("localhost/dev:latest", "localhost"),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:abc",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        ),
    ] {
        assert_eq!(registry_host(image), host, "{image}");
    }
}

#[test]
fn pull_errors_are_classified_from_real_messages() {
    for (reason, message, class) in [
        (
            "ErrImagePull",
            "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\": failed to resolve reference \"docker.io/library/nginx:1.99\": docker.io/library/nginx:1.99: not found",
            "not_found",
        ),
        (
            "ErrImagePull",
            "rpc error: code = Unknown desc = Error response from daemon: manifest for nginx:1.99 not found: manifest unknown: manifest unknown",
            "not_found",
        ),
        (
            "ErrImagePull",
            "rpc error: code = Unknown desc = failed to pull and unpack image \"ghcr.io/acme/api:2\": failed to resolve reference: failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
            "unauthorized",
        ),
        (
            "ErrImagePull",
            "rpc error: code = Unknown desc = failed to pull and unpack image \"gcr.io/p/x:1\": failed to resolve reference: unexpected status from HEAD request: 403 Forbidden",
            "unauthorized",
        ),
        (
            "ErrImagePull",
            "rpc error: code = Unknown desc = failed to do request: Head \"https://registry.internal/v2/api/manifests/1\": dial tcp: lookup registry.internal on 10.96.0.10:53: no such host",
            "unreachable",
        ),
        (
            "ErrImagePull",
            "rpc error: code = Unknown desc = failed to do request: Head \"https://10.0.0.5:5000/v2/x/manifests/1\": dial tcp 10.0.0.5:5000: i/o timeout",
            "unreachable",
        ),
        (
            "InvalidImageName",
            "Failed to apply default image tag \"Nginx\": couldn't parse image reference \"Nginx\": invalid reference format: repository name must be lowercase",
            "invalid_name",
        ),
        (
            "ErrImageNeverPull",
            "Container image \"api:dev\" is not present with pull policy of Never",
            "not_found",
        ),
        (
            "ImagePullBackOff",
            "Back-off pulling image \"nginx:1.99\"",
            "other",
        ),
    ] {
        assert_eq!(pull_error_class(reason, message), class, "{message}");
    }
}
