//! Shared test fixtures: the test environment written by `scripts/test-env up`, Kubernetes
//! clients, per-test namespaces, and child redis-servers for tests that break Redis.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Values from the env file of `scripts/test-env up`.
pub struct TestEnv {
    vars: HashMap<String, String>,
}

static ENV: OnceLock<TestEnv> = OnceLock::new();

/// The test environment. Panics with instructions when it is not running: tests never skip.
pub fn env() -> &'static TestEnv {
    ENV.get_or_init(|| {
        lookout::install_crypto_provider();
        let path = std::env::var("LOOKOUT_TEST_ENV_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-env/env"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "test environment not found at {} ({e}).\n\
                 Start it with `scripts/test-env up` (or run everything with `scripts/test`).",
                path.display()
            )
        });
        let vars = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        TestEnv { vars }
    })
}

impl TestEnv {
    pub fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from the test env file"))
    }

    pub fn redis_url(&self) -> &str {
        self.get("LOOKOUT_TEST_REDIS_URL")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.get("LOOKOUT_TEST_KUBECONFIG"))
    }

    pub fn restricted_kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.get("LOOKOUT_TEST_KUBECONFIG_RESTRICTED"))
    }

    pub fn redis_server(&self) -> &str {
        self.get("LOOKOUT_TEST_REDIS_SERVER")
    }
}

async fn client_from(path: PathBuf) -> kube::Client {
    let kc = Kubeconfig::read_from(&path).expect("read test kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("test kubeconfig is valid");
    kube::Client::try_from(cfg).expect("build kube client")
}

/// A client with cluster-admin rights.
pub async fn admin_client() -> kube::Client {
    client_from(env().kubeconfig()).await
}

/// A client for the restricted test identity (read-only, no Secrets).
pub async fn restricted_client() -> kube::Client {
    client_from(env().restricted_kubeconfig()).await
}

/// A unique name for this test run: `<prefix>-<random>` (DNS-label safe).
pub fn unique(prefix: &str) -> String {
    let n: u32 = rand::random();
    format!("{prefix}-{n:08x}")
}

/// A fresh namespace, deleted when the guard drops.
pub struct TestNamespace {
    pub name: String,
    client: kube::Client,
}

impl TestNamespace {
    pub async fn new(prefix: &str) -> Self {
        let client = admin_client().await;
        let name = unique(prefix);
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name }
        }))
        .expect("namespace json");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create test namespace");
        Self { name, client }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let client = self.client.clone();
        let name = self.name.clone();
        // Best effort: the namespace is unique, so a leftover never disturbs another test.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::default())
                    .await;
            });
        }
    }
}

/// A redis-server of a test's own, for tests that stop and restart Redis.
pub struct OwnRedis {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    extra_args: Vec<String>,
}

impl OwnRedis {
    pub async fn start(extra_args: &[&str]) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut me = Self {
            port,
            dir,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        me.restart().await;
        me
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (again) on the same port.
    pub async fn restart(&mut self) {
        let child = std::process::Command::new(env().redis_server())
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(self.dir.path())
            .args(&self.extra_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_for_port(self.port).await;
    }

    /// Kills the server (SIGKILL: an outage, not a clean shutdown).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub async fn wait_for_port(port: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` until it returns Some or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
