//! The state store conformance suite, run unchanged against the memory store and against a
//! real redis-server; plus what only Redis has: key prefixes, AUTH, TLS.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lookout::clock::SystemClock;
use lookout::config::{RedisConfig, SecretUrl};
use lookout::store::*;
use prometheus_client::registry::Registry;

use crate::support::{OwnRedis, env, unique};

/// Retention small enough that expiry is observable in a test.
fn retention() -> Retention {
    Retention {
        records: Duration::from_secs(3600),
        conversation_ttl: Duration::from_millis(400),
        conversation_max_turns: 3,
        audit_max_len: 5,
    }
}

fn memory() -> SharedStore {
    Arc::new(MemoryStore::new(SystemClock::shared(), retention()))
}

fn redis_at(url: &str, cluster: &str) -> SharedStore {
    redis_with(
        RedisConfig {
            url: SecretUrl::new(url),
            ..RedisConfig::default()
        },
        cluster,
    )
}

fn redis_with(redis: RedisConfig, cluster: &str) -> SharedStore {
    Arc::new(
        RedisStore::new(
            RedisStoreOptions {
                redis,
                cluster: cluster.to_string(),
                retention: retention(),
            },
            &mut Registry::default(),
        )
        .expect("redis store"),
    )
}

/// The shared test Redis, under a cluster prefix of this test's own.
fn redis() -> SharedStore {
    redis_at(env().redis_url(), &unique("conf"))
}

/// Runs one conformance case against both implementations.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory_store {
            $( #[tokio::test] async fn $case() { super::$case(super::memory()).await } )*
        }
        mod redis_store {
            $( #[tokio::test] async fn $case() { super::$case(super::redis()).await } )*
        }
    };
}

conformance!(
    claims_are_exclusive_until_released_or_expired,
    claims_record_their_holder,
    concurrent_claims_have_one_winner,
    records_round_trip_list_and_expire,
    counters_accumulate_and_reset_after_their_ttl,
    timelines_append_in_order,
    approvals_are_decided_exactly_once,
    concurrent_decisions_have_one_winner,
    votes_count_distinct_approvers,
    conversations_keep_the_last_turns_and_expire,
    audit_stream_is_capped_and_ordered,
);

async fn claims_are_exclusive_until_released_or_expired(s: SharedStore) {
    s.ping().await.unwrap();
    let hour = Duration::from_secs(3600);
    assert!(s.claim("dedup:a", hour).await.unwrap());
    assert!(
        !s.claim("dedup:a", hour).await.unwrap(),
        "second claim must lose"
    );
    assert!(s.is_claimed("dedup:a").await.unwrap());
    assert!(!s.is_claimed("dedup:b").await.unwrap());
    s.release("dedup:a").await.unwrap();
    assert!(!s.is_claimed("dedup:a").await.unwrap());
    assert!(
        s.claim("dedup:a", hour).await.unwrap(),
        "released key is claimable"
    );
    s.release("never-claimed").await.unwrap();

    assert!(s.claim("short", Duration::from_millis(150)).await.unwrap());
    assert!(!s.claim("short", Duration::from_millis(150)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !s.is_claimed("short").await.unwrap(),
        "claim outlived its TTL"
    );
    assert!(
        s.claim("short", hour).await.unwrap(),
        "expired claim is claimable"
    );
}

async fn claims_record_their_holder(s: SharedStore) {
    let ttl = Duration::from_secs(60);
    assert_eq!(s.claim_as("dedup:x", "INC-1", ttl).await.unwrap(), None);
    assert_eq!(
        s.claim_as("dedup:x", "INC-2", ttl)
            .await
            .unwrap()
            .as_deref(),
        Some("INC-1"),
        "the loser learns the holder"
    );
    assert_eq!(
        s.claim_holder("dedup:x").await.unwrap().as_deref(),
        Some("INC-1")
    );
    assert_eq!(s.claim_holder("dedup:y").await.unwrap(), None);
    s.release("dedup:x").await.unwrap();
    assert_eq!(s.claim_as("dedup:x", "INC-2", ttl).await.unwrap(), None);
    assert_eq!(
        s.claim_holder("dedup:x").await.unwrap().as_deref(),
        Some("INC-2")
    );
}

async fn concurrent_claims_have_one_winner(s: SharedStore) {
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (s, b) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                s.claim("race", Duration::from_secs(60)).await.unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}

async fn records_round_trip_list_and_expire(s: SharedStore) {
    assert_eq!(s.get("incidents", "INC-1").await.unwrap(), None);
    assert!(s.list("incidents").await.unwrap().is_empty());
    s.put("incidents", "INC-2", r#"{"n":2}"#, None)
        .await
        .unwrap();
    s.put("incidents", "INC-1", r#"{"n":1}"#, None)
        .await
        .unwrap();
    s.put("threads", "INC-1", r#"{"ts":"1.2"}"#, None)
        .await
        .unwrap();
    assert_eq!(
        s.get("incidents", "INC-1").await.unwrap().as_deref(),
        Some(r#"{"n":1}"#)
    );
    assert_eq!(s.list("incidents").await.unwrap(), ["INC-1", "INC-2"]);
    assert_eq!(s.list("threads").await.unwrap(), ["INC-1"]);

    s.put("incidents", "INC-1", r#"{"n":11}"#, None)
        .await
        .unwrap();
    assert_eq!(
        s.get("incidents", "INC-1").await.unwrap().as_deref(),
        Some(r#"{"n":11}"#)
    );
    s.delete("incidents", "INC-1").await.unwrap();
    assert_eq!(s.get("incidents", "INC-1").await.unwrap(), None);
    assert_eq!(s.list("incidents").await.unwrap(), ["INC-2"]);

    s.put(
        "silences",
        "ns:payments",
        "{}",
        Some(Duration::from_millis(150)),
    )
    .await
    .unwrap();
    assert_eq!(s.list("silences").await.unwrap(), ["ns:payments"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.get("silences", "ns:payments").await.unwrap(), None);
    assert!(
        s.list("silences").await.unwrap().is_empty(),
        "expired id still listed"
    );

    // Typed helpers.
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Rec {
        id: u32,
        name: String,
    }
    let rec = Rec {
        id: 7,
        name: "checkout".into(),
    };
    s.put_json("typed", "7", &rec, None).await.unwrap();
    assert_eq!(s.get_json::<Rec>("typed", "7").await.unwrap(), Some(rec));
    s.put("typed", "bad", "not json", None).await.unwrap();
    assert!(matches!(
        s.get_json::<Rec>("typed", "bad").await,
        Err(StoreError::Corrupt { .. })
    ));
}

async fn counters_accumulate_and_reset_after_their_ttl(s: SharedStore) {
    assert_eq!(s.incr("incident-seq", 1, None).await.unwrap(), 1);
    assert_eq!(s.incr("incident-seq", 1, None).await.unwrap(), 2);
    assert_eq!(s.incr("tokens", 500, None).await.unwrap(), 500);
    assert_eq!(s.incr("tokens", -100, None).await.unwrap(), 400);

    let window = Some(Duration::from_millis(200));
    assert_eq!(s.incr("rate:u1", 1, window).await.unwrap(), 1);
    assert_eq!(s.incr("rate:u1", 1, window).await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        s.incr("rate:u1", 1, window).await.unwrap(),
        1,
        "window reset"
    );
}

async fn timelines_append_in_order(s: SharedStore) {
    for (i, e) in ["detected", "analyzing", "resolved"].iter().enumerate() {
        let pos = s
            .append_timeline("INC-1", &format!(r#""{e}""#))
            .await
            .unwrap();
        assert_eq!(pos, i as u64);
    }
    s.append_timeline("INC-2", r#""other""#).await.unwrap();
    assert_eq!(
        s.timeline("INC-1").await.unwrap(),
        [r#""detected""#, r#""analyzing""#, r#""resolved""#]
    );
    assert!(s.timeline("INC-9").await.unwrap().is_empty());
    let typed: Vec<String> = s.timeline_json("INC-2").await.unwrap();
    assert_eq!(typed, ["other"]);
}

fn approval(id: &str) -> ApprovalRecord {
    ApprovalRecord {
        id: id.into(),
        incident_id: "INC-1".into(),
        request: serde_json::json!({"action": "deployment.adjust_resources", "memory": "512Mi"}),
        created_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::minutes(15),
    }
}

fn decision(verdict: Verdict, by: &str) -> Decision {
    Decision {
        verdict,
        by: by.into(),
        at: Utc::now(),
        reason: None,
    }
}

async fn approvals_are_decided_exactly_once(s: SharedStore) {
    let rec = approval("A-1");
    assert!(s.create_approval(&rec).await.unwrap());
    assert!(!s.create_approval(&rec).await.unwrap(), "ids are unique");
    let stored = s.approval("A-1").await.unwrap().unwrap();
    assert_eq!(stored.record, rec);
    assert_eq!(stored.decision, None);

    let first = decision(Verdict::Approved, "slack:U1");
    match s.decide("A-1", &first).await.unwrap() {
        DecideOutcome::Decided(st) => assert_eq!(st.decision.as_ref(), Some(&first)),
        other => panic!("expected Decided, got {other:?}"),
    }
    let mut late = decision(Verdict::Rejected, "slack:U2");
    late.reason = Some("too risky".into());
    match s.decide("A-1", &late).await.unwrap() {
        DecideOutcome::AlreadyDecided(st) => assert_eq!(st.decision, Some(first.clone())),
        other => panic!("expected AlreadyDecided, got {other:?}"),
    }
    assert_eq!(
        s.approval("A-1").await.unwrap().unwrap().decision,
        Some(first)
    );
    assert_eq!(
        s.decide("A-404", &late).await.unwrap(),
        DecideOutcome::NotFound
    );
    assert_eq!(s.approval("A-404").await.unwrap(), None);
}

async fn concurrent_decisions_have_one_winner(s: SharedStore) {
    s.create_approval(&approval("A-2")).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (s, b) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                let verdict = if i % 2 == 0 {
                    Verdict::Approved
                } else {
                    Verdict::Rejected
                };
                b.wait().await;
                s.decide("A-2", &decision(verdict, &format!("user{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut seen_by_losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            DecideOutcome::Decided(st) => winners.push(st.decision.unwrap()),
            DecideOutcome::AlreadyDecided(st) => seen_by_losers.push(st.decision.unwrap()),
            DecideOutcome::NotFound => panic!("approval vanished"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one decision applies");
    assert!(
        seen_by_losers.iter().all(|d| *d == winners[0]),
        "every loser sees the winning decision"
    );
}

async fn votes_count_distinct_approvers(s: SharedStore) {
    assert_eq!(s.add_vote("A-3", "slack:U1").await.unwrap(), ["slack:U1"]);
    assert_eq!(s.add_vote("A-3", "slack:U1").await.unwrap(), ["slack:U1"]);
    assert_eq!(
        s.add_vote("A-3", "discord:42").await.unwrap(),
        ["discord:42", "slack:U1"]
    );
}

async fn conversations_keep_the_last_turns_and_expire(s: SharedStore) {
    for t in ["q1", "a1", "q2", "a2"] {
        s.append_turn("slack:C1:1.2", &format!(r#""{t}""#))
            .await
            .unwrap();
    }
    // max 3 turns: the oldest is dropped.
    assert_eq!(
        s.conversation("slack:C1:1.2").await.unwrap(),
        [r#""a1""#, r#""q2""#, r#""a2""#]
    );
    assert!(s.conversation("slack:C1:9.9").await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        s.conversation("slack:C1:1.2").await.unwrap().is_empty(),
        "conversation outlived its TTL"
    );
}

async fn audit_stream_is_capped_and_ordered(s: SharedStore) {
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(s.audit(&format!(r#"{{"n":{i}}}"#)).await.unwrap());
    }
    let all = s.audit_tail(100).await.unwrap();
    let json: Vec<_> = all.iter().map(|e| e.json.as_str()).collect();
    assert_eq!(
        json,
        [
            r#"{"n":3}"#,
            r#"{"n":4}"#,
            r#"{"n":5}"#,
            r#"{"n":6}"#,
            r#"{"n":7}"#
        ],
        "capped at 5, oldest dropped"
    );
    assert_eq!(all.last().unwrap().id, *ids.last().unwrap());
    let two = s.audit_tail(2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].json, r#"{"n":7}"#);
}

// ---------------------------------------------------------------- Redis only

#[tokio::test]
async fn redis_keys_are_scoped_by_cluster() {
    let url = env().redis_url();
    let (a, b) = (redis_at(url, &unique("a")), redis_at(url, &unique("b")));
    a.put("incidents", "INC-1", "{}", None).await.unwrap();
    assert!(a.claim("k", Duration::from_secs(60)).await.unwrap());
    assert_eq!(b.get("incidents", "INC-1").await.unwrap(), None);
    assert!(b.list("incidents").await.unwrap().is_empty());
    assert!(b.claim("k", Duration::from_secs(60)).await.unwrap());
}

#[tokio::test]
async fn redis_auth_with_password_in_the_url() {
    let server = OwnRedis::start(&["--requirepass", "s3cret-pw"]).await;
    let port = server.port;
    let good = redis_at(&format!("redis://:s3cret-pw@127.0.0.1:{port}/0"), "auth");
    good.ping().await.expect("authenticated ping");
    assert!(good.claim("x", Duration::from_secs(5)).await.unwrap());

    let wrong = redis_at(&format!("redis://:nope@127.0.0.1:{port}/0"), "auth");
    let err = wrong.ping().await.expect_err("wrong password must fail");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("nope"), "password leaked: {err}");

    let none = redis_at(&format!("redis://127.0.0.1:{port}/0"), "auth");
    assert!(none.claim("x", Duration::from_secs(5)).await.is_err());
}

#[tokio::test]
async fn redis_over_tls_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    let sh = |script: &str| {
        let ok = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .status()
            .expect("openssl via sh")
            .success();
        assert!(ok, "failed: {script}");
    };
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca 2>/dev/null",
    );
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null",
    );
    sh("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf");
    sh(
        "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1 -extfile ext.cnf 2>/dev/null",
    );

    let tls_port = crate::support::free_port().to_string();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let server = OwnRedis::start(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &p("srv.crt"),
        "--tls-key-file",
        &p("srv.key"),
        "--tls-ca-cert-file",
        &p("ca.crt"),
        "--tls-auth-clients",
        "no",
    ])
    .await;

    let store = redis_with(
        RedisConfig {
            url: SecretUrl::new(format!("rediss://127.0.0.1:{tls_port}/0")),
            tls_ca_file: Some(dir.join("ca.crt")),
            ..RedisConfig::default()
        },
        "tls",
    );
    store.ping().await.expect("ping over TLS");
    assert!(
        store
            .claim("tls-claim", Duration::from_secs(5))
            .await
            .unwrap()
    );

    // Without the private CA the server's certificate is not trusted.
    let untrusted = redis_at(&format!("rediss://127.0.0.1:{tls_port}/0"), "tls");
    assert!(
        untrusted.ping().await.is_err(),
        "untrusted certificate accepted"
    );
    drop(server);
}

#[tokio::test]
async fn redis_outage_gives_typed_errors_and_recovers() {
    let mut server = OwnRedis::start(&[]).await;
    let mut registry = Registry::default();
    let store = RedisStore::new(
        RedisStoreOptions {
            redis: RedisConfig {
                url: SecretUrl::new(server.url()),
                ..RedisConfig::default()
            },
            cluster: "outage".into(),
            retention: retention(),
        },
        &mut registry,
    )
    .unwrap();
    store.put("incidents", "INC-1", "{}", None).await.unwrap();

    server.stop();
    let started = std::time::Instant::now();
    let err = store
        .get("incidents", "INC-1")
        .await
        .expect_err("redis is down");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an outage must fail fast, took {:?}",
        started.elapsed()
    );
    let metrics = lookout::metrics::encode(&registry);
    assert!(
        metrics.contains("lookout_redis_errors_total{operation=\"get\"} 1"),
        "{metrics}"
    );

    server.restart().await;
    crate::support::eventually(Duration::from_secs(10), "redis store recovers", || async {
        store.ping().await.ok()
    })
    .await;
    store.put("incidents", "INC-2", "{}", None).await.unwrap();
    assert!(store.get("incidents", "INC-2").await.unwrap().is_some());
}
