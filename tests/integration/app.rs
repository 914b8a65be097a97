//! The bot as a whole: the binary's exit codes and `check` output, `/healthz` `/readyz`
//! `/metrics`, dependencies that are down at start or go away and come back, and graceful
//! shutdown on SIGTERM.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout::app::App;
use lookout::config::{self, Config};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{OwnRedis, env, eventually, free_port, wait_for_port};

const BIN: &str = env!("CARGO_BIN_EXE_lookout");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// Runs the binary with only the given environment (no ambient LOOKOUT_* or KUBECONFIG).
fn lookout(args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .expect("run lookout")
}

#[test]
fn invalid_config_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", "store:\n  retention: soon\n");
    for cmd in ["check", "run"] {
        let out = lookout(&[cmd], &[("LOOKOUT_CONFIG", &file)]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("store.retention"), "{cmd}: {err}");
    }
    let file = write(dir.path(), "unknown.yaml", "redis:\n  host: x\n");
    let out = lookout(&["check"], &[("LOOKOUT_CONFIG", &file)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `host`"));

    let out = lookout(&["check"], &[("LOOKOUT_STORE", "sqlite")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOOKOUT_STORE"));
}

#[test]
fn check_prints_the_effective_config_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ok.yaml",
        "cluster: prod-eu-1\nlog:\n  format: json\n",
    );
    let out = lookout(
        &["check"],
        &[
            ("LOOKOUT_CONFIG", &file),
            ("LOOKOUT_REDIS_URL", "redis://:topsecret@redis:6379/0"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("cluster: prod-eu-1"), "{printed}");
    assert!(printed.contains("format: json"), "{printed}");
    assert!(printed.contains("redis:6379"), "{printed}");
    assert!(!printed.contains("topsecret"), "secret printed: {printed}");
}

#[test]
fn check_refuses_runbooks_and_prompts_it_could_not_use() {
    let dir = tempfile::tempdir().unwrap();
    let books = dir.path().join("runbooks");
    std::fs::create_dir(&books).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/node-not-ready.yaml");
    let text = std::fs::read_to_string(shipped)
        .unwrap()
        .replace("action: node.cordon", "action: node.explode");
    write(&books, "node-not-ready.yaml", &text);
    let file = write(
        dir.path(),
        "c.yaml",
        &format!("runbooks:\n  dir: {}\n", books.display()),
    );
    let out = lookout(&["check"], &[("LOOKOUT_CONFIG", &file)]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "runbook node-not-ready: steps[0].action: `node.explode` is not a known action"
        ),
        "{err}"
    );
    // The shipped runbooks and prompts pass.
    let out = lookout(&["check"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn missing_kubeconfig_is_a_startup_error() {
    let out = lookout(&["run"], &[("KUBECONFIG", "/nonexistent/kubeconfig")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubernetes.kubeconfig"));
}

/// A config for an in-process bot: fast health checks, the given Redis and kubeconfig.
fn test_config(redis_url: &str, kubeconfig: &Path) -> Config {
    let mut c = Config {
        cluster: crate::support::unique("app"),
        ..Config::default()
    };
    c.redis.url = config::SecretUrl::new(redis_url);
    c.kubernetes.kubeconfig = Some(kubeconfig.to_path_buf());
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.health.check_interval = Duration::from_millis(100);
    c.health.max_backoff = Duration::from_millis(400);
    c.redis.connect_timeout = Duration::from_millis(500);
    c
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.expect("http get");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn readyz(base: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(&format!("{base}/readyz")).await;
    (status, serde_json::from_str(&body).expect("readyz json"))
}

#[tokio::test]
async fn redis_outage_makes_the_bot_unready_then_it_recovers() {
    let mut redis = OwnRedis::start(&[]).await;
    let app = App::build(test_config(&redis.url(), &env().kubeconfig()))
        .await
        .unwrap();
    let base = format!("http://{}", app.http_addr());
    let store = app.store();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stop_rx.await;
    }));

    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    eventually(Duration::from_secs(10), "ready", || async {
        (readyz(&base).await.0 == 200).then_some(())
    })
    .await;

    redis.stop();
    let body = eventually(Duration::from_secs(10), "unready", || async {
        let (status, body) = readyz(&base).await;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(body["checks"]["store"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["kubernetes"]["ok"], true, "{body}");
    assert!(store.claim("x", Duration::from_secs(1)).await.is_err());
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200, "still alive");
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    assert!(
        metrics.contains("lookout_redis_errors_total{operation=\"ping\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lookout_dependency_up{dependency=\"store\"} 0"),
        "{metrics}"
    );

    redis.restart().await;
    eventually(Duration::from_secs(10), "ready again", || async {
        (readyz(&base).await.0 == 200).then_some(())
    })
    .await;
    assert!(store.claim("x", Duration::from_secs(1)).await.unwrap());
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    assert!(
        metrics.contains("lookout_dependency_up{dependency=\"store\"} 1"),
        "{metrics}"
    );

    stop_tx.send(()).unwrap();
    running.await.unwrap().unwrap();
}

/// Forwards TCP connections from `listener` to `target` (a stand-in for a network path to the
/// API server that can be cut and restored).
async fn forward(listener: TcpListener, target: String) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test]
async fn api_server_down_at_start_then_reachable() {
    // A kubeconfig pointing at a port where nothing listens yet.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let real = std::fs::read_to_string(env().kubeconfig()).unwrap();
    let api_port = env().get("LOOKOUT_TEST_API_PORT");
    let kubeconfig = write(
        dir.path(),
        "kubeconfig",
        &real.replace(
            &format!("127.0.0.1:{api_port}"),
            &format!("127.0.0.1:{port}"),
        ),
    );
    let redis = OwnRedis::start(&[]).await;
    let app = App::build(test_config(&redis.url(), Path::new(&kubeconfig)))
        .await
        .expect("the bot starts without an API server");
    let base = format!("http://{}", app.http_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stop_rx.await;
    }));

    let body = eventually(
        Duration::from_secs(10),
        "kubernetes check fails",
        || async {
            let (status, body) = readyz(&base).await;
            (status == 503 && body["checks"]["kubernetes"]["ok"] == false).then_some(body)
        },
    )
    .await;
    assert!(body["checks"]["kubernetes"]["error"].is_string(), "{body}");

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let proxy = tokio::spawn(forward(listener, format!("127.0.0.1:{api_port}")));
    eventually(
        Duration::from_secs(10),
        "ready once the API server answers",
        || async { (readyz(&base).await.0 == 200).then_some(()) },
    )
    .await;

    proxy.abort();
    stop_tx.send(()).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let redis = OwnRedis::start(&[]).await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let kubeconfig = env().kubeconfig();
    let mut child = Command::new(BIN)
        .arg("run")
        .env_clear()
        .env("LOOKOUT_REDIS_URL", redis.url())
        .env("KUBECONFIG", &kubeconfig)
        .env("LOOKOUT_HTTP_LISTEN", &listen)
        .env("LOOKOUT_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(port).await;
    assert_eq!(get(&format!("http://{listen}/healthz")).await.0, 200);

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("stopped cleanly"), "{logs}");
    // JSON log lines, one object each.
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("json log line");
    }
}
