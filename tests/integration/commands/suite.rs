//! The command suite: the same cases against every chat harness (the console and the fake
//! Slack, Discord and Telegram; a new platform's fake plugs in with one `command_suite!` line
//! in `mod.rs`). Each case starts the bot's chat side ([`CommandRig`]) with seeded incidents
//! and plays people mentioning the bot and clicking card buttons and a conversation's Propose
//! button (remediation is a stand-in that records what it is handed).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lookout::actions::Risk;
use lookout::clock::ManualClock;
use lookout::conversation::tools::Suggestion;
use lookout::correlate::Severity;
use lookout::detect::SignalName;
use lookout::incident::silence::SILENCES;
use lookout::incident::{IncidentState, TimelineEntry};
use lookout::remediation::{AUTOMATION, PAUSED};
use lookout::store::StoreExt;

use super::rig::{CommandRig, incident, signal};
use crate::chat::harness::ChatHarness;
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(20);

/// A critical incident about shop/web, a high one about shop/api, a resolved one about blog/web.
async fn rig(h: Arc<dyn ChatHarness>, operators: &[&str]) -> CommandRig {
    let now = Utc::now();
    let clock = ManualClock::new(now);
    let mut resolved = incident(
        3,
        "blog",
        "web",
        Severity::Medium,
        now - chrono::Duration::hours(3),
    );
    resolved.state = IncidentState::Resolved;
    resolved.resolved_at = Some(now - chrono::Duration::hours(2));
    let incidents = vec![
        incident(
            1,
            "shop",
            "web",
            Severity::Critical,
            now - chrono::Duration::minutes(20),
        ),
        incident(
            2,
            "shop",
            "api",
            Severity::High,
            now - chrono::Duration::minutes(10),
        ),
        resolved,
    ];
    let rig = CommandRig::start(h, operators, clock, incidents).await;
    rig.card("shop/web", "CRITICAL").await;
    rig.card("shop/api", "HIGH").await;
    rig
}

/// A suggested `deployment.scale` of `shop/<name>`.
fn scale(name: &str, replicas: i32) -> Suggestion {
    Suggestion {
        action: "deployment.scale".into(),
        params: serde_json::json!({"namespace": "shop", "name": name, "replicas": replicas})
            .as_object()
            .expect("an object")
            .clone(),
        reason: "more capacity".into(),
        risk: Risk::Medium,
    }
}

/// Timeline texts of incident `INC-<n>`, with their actor.
async fn timeline(rig: &CommandRig, n: u64) -> Vec<(String, String, serde_json::Value)> {
    rig.store
        .timeline_json::<TimelineEntry>(&format!("prod/INC-{n}"))
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| (e.actor.unwrap_or_default(), e.text, e.data))
        .collect()
}

/// Read-only commands answer anyone, case-insensitively, with usage errors for bad input.
pub async fn read_only_commands_answer_anyone(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &[]).await;
    let help = rig.ask("bob", "HELP", "silence <scope> <duration>").await;
    for command in [
        "status",
        "incident <id>",
        "ack <id>",
        "unsilence",
        "pause / resume",
        "digest now",
    ] {
        assert!(help.contains(command), "help lists {command}: {help}");
    }

    let status = rig.ask("bob", "Status", "Status of prod").await;
    assert!(status.contains("Nodes: "), "live node count: {status}");
    assert!(status.contains("Pods: "), "{status}");
    assert!(
        status.contains("Open incidents: 1 critical, 1 high"),
        "{status}"
    );
    assert!(
        status.contains("2 high or critical not acknowledged"),
        "{status}"
    );
    assert!(status.contains("Automation running"), "{status}");

    let list = rig.ask("bob", "incidents", "open incidents on prod").await;
    assert!(list.contains("2 open incidents on prod"), "{list}");
    let (web, api) = (list.find("INC-1").unwrap(), list.find("INC-2").unwrap());
    assert!(web < api, "most severe first: {list}");
    assert!(
        !list.contains("INC-3"),
        "resolved ones are not listed: {list}"
    );

    for id in ["inc-1", "INC-1", "1", "prod/INC-1"] {
        let one = rig
            .ask("bob", &format!("incident {id}"), "Timeline (")
            .await;
        assert!(one.contains("shop/web"), "{id}: {one}");
    }
    let usage = rig.ask("bob", "incident", "Usage:").await;
    assert!(usage.contains("incident <id>"), "{usage}");
    rig.ask("bob", "incident INC-99", "No incident").await;
    rig.ask(
        "bob",
        "incident other/INC-1",
        "is an incident of cluster other",
    )
    .await;
    rig.ask("bob", "incident banana", "is not an incident id")
        .await;

    let books = lookout::runbook::load(None).expect("shipped runbooks");
    let list = rig.ask("bob", "runbooks", "runbooks").await;
    for b in &books {
        assert!(list.contains(&b.name), "{} listed: {list}", b.name);
    }
    let name = &books[0].name;
    let one = rig
        .ask(
            "bob",
            &format!("RUNBOOKS {name}"),
            &format!("Runbook {name}"),
        )
        .await;
    assert!(one.contains("1. "), "steps listed: {one}");
    rig.ask("bob", "runbooks no-such-book", "no-such-book")
        .await;

    rig.ask("bob", "silences", "No active silences.").await;
    rig.ask("bob", "silence ns/shop", "Usage:").await;
    rig.ask("bob", "digest later", "Usage:").await;
    let digest = rig.ask("bob", "digest NOW", "Digest for prod").await;
    assert!(digest.contains("Open incidents: 2"), "{digest}");
    assert!(
        digest.contains("resolved 1"),
        "the resolved one is in the last 24h: {digest}"
    );
}

/// Without the operator role, every changing command and both card buttons are refused with a
/// clear answer, audited, and change nothing.
pub async fn changes_need_the_operator_role(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &[]).await;
    let bob = rig.h.user_id("bob");
    let platform = rig.h.platform().name();
    for command in [
        "ack INC-1",
        "silence ns/shop 1h",
        "unsilence S-1",
        "resolve INC-1",
        "dismiss INC-2",
        "pause",
        "resume",
    ] {
        let answer = rig.ask("bob", command, "needs the operator role").await;
        let verb = command.split(' ').next().unwrap();
        assert!(answer.contains(verb), "{command}: {answer}");
    }
    let card = rig.card("shop/web", "CRITICAL").await;
    rig.click("bob", &card, "Ack", "needs the operator role")
        .await;
    rig.click("bob", &card, "Silence 1h", "needs the operator role")
        .await;
    let answer = rig
        .suggest(scale("api", 3), "api needs more replicas")
        .await;
    rig.click(
        "bob",
        &answer,
        "Propose deployment.scale",
        "needs the operator role",
    )
    .await;
    assert!(
        rig.proposed.lock().unwrap().is_empty(),
        "nothing was proposed"
    );

    let refused = rig.audited("refused_command").await;
    assert_eq!(refused.len(), 10, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|(actor, _)| *actor == format!("{platform}:{bob}")),
        "{refused:?}"
    );
    let i1 = rig.stored(1).await;
    assert!(i1.acked.is_none() && i1.is_open());
    assert!(rig.stored(2).await.is_open());
    assert!(rig.store.list(SILENCES).await.unwrap().is_empty());
    assert_eq!(rig.store.get(AUTOMATION, PAUSED).await.unwrap(), None);
}

/// An operator acks, pauses and resumes, resolves and dismisses; each change is on the card,
/// the timeline (who, when, platform) and the audit stream. A resolve while the signal still
/// fires keeps its dedup key: the signal opens nothing until it has cleared.
pub async fn operators_move_incidents_along(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &["alice"]).await;
    let alice = format!("{}:{}", rig.h.platform().name(), rig.h.user_id("alice"));

    let acked = rig.ask("alice", "ack inc-1", "acknowledged by").await;
    assert!(acked.contains("reminders stop"), "{acked}");
    rig.card("shop/web", "Acknowledged by").await;
    let i1 = rig.stored(1).await;
    assert_eq!(
        i1.acked.as_ref().map(|a| a.by.as_str()),
        Some(alice.as_str())
    );
    let entries = timeline(&rig, 1).await;
    let ack = entries
        .iter()
        .find(|(_, t, _)| t.starts_with("acknowledged by"))
        .expect("ack noted");
    assert_eq!(ack.0, alice);
    assert_eq!(ack.2["platform"], rig.h.platform().name());

    rig.ask("alice", "PAUSE", "Automation paused").await;
    assert_eq!(
        rig.store.get(AUTOMATION, PAUSED).await.unwrap().as_deref(),
        Some("true")
    );
    rig.ask("alice", "pause", "already paused").await;
    rig.ask("alice", "status", "Automation paused").await;
    rig.ask("alice", "resume", "Automation resumed").await;
    assert_eq!(rig.store.get(AUTOMATION, PAUSED).await.unwrap(), None);

    let resolved = rig.ask("alice", "resolve INC-1", "resolved by").await;
    assert!(resolved.contains("still fire"), "{resolved}");
    rig.card("shop/web", "RESOLVED").await;
    let i1 = rig.stored(1).await;
    assert_eq!(i1.state, IncidentState::Resolved);
    assert_eq!(i1.ended_by.as_deref(), Some(alice.as_str()));
    rig.ask("alice", "resolve INC-1", "is already resolved")
        .await;

    let dismissed = rig
        .ask("alice", "dismiss 2", "dismissed as a false alarm")
        .await;
    assert!(dismissed.contains("INC-2"), "{dismissed}");
    assert_eq!(rig.stored(2).await.state, IncidentState::Dismissed);

    // The resolved incident's signal still fires: nothing opens, even after the settle period.
    let web = signal("shop", "web", SignalName::CrashLoop);
    rig.raise(web.clone()).await;
    rig.settled().await;
    rig.advance(Duration::from_secs(30));
    rig.settled().await;
    assert_eq!(rig.numbered().await, 100, "no incident was opened");
    rig.ask("alice", "incidents", "No open incidents").await;
    // Once it has cleared, a new occurrence is a new incident.
    rig.clear(&web).await;
    rig.raise(web).await;
    rig.advance(Duration::from_secs(30));
    eventually(WAIT, "a new incident for shop/web", || async {
        (rig.open().await == ["Deployment shop/web"]).then_some(())
    })
    .await;
    assert!(
        rig.stored(101).await.is_open(),
        "numbered after the seeded ones"
    );

    for kind in ["ack", "pause", "resume", "resolve", "dismiss"] {
        let entries = rig.audited(kind).await;
        assert_eq!(entries.len(), 1, "{kind}: {entries:?}");
        assert_eq!(entries[0].0, alice, "{kind}");
    }
}

/// Silences: listed, honoured by the tracker (what they cover opens no incident), ended early
/// by `unsilence` or by expiry, after which what still fires opens its incident.
pub async fn silences_hold_incidents_back_until_they_end(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &["alice"]).await;
    rig.ask("alice", "silence signal/nope 1h", "not a signal name")
        .await;
    rig.ask("alice", "silence ns/shop 10s", "at least 1m").await;
    rig.ask("alice", "silence shop/widget/web 1h", "not a workload kind")
        .await;

    // Code spans render differently per platform (backticks on Discord): match around them.
    let set = rig.ask("alice", "SILENCE ns/shop 1h", "Silenced ").await;
    assert!(set.contains("ns/shop") && set.contains(" until "), "{set}");
    assert!(set.contains("S-1"), "{set}");
    let set = rig
        .ask("alice", "silence blog/deploy/web 2h", "Silenced ")
        .await;
    assert!(set.contains("blog/deployment/web"), "{set}");
    let list = rig.ask("bob", "silences", "2 active silences").await;
    assert!(
        list.find("S-1").unwrap() < list.find("S-2").unwrap(),
        "soonest to end first: {list}"
    );
    // The open shop incidents are covered: their cards say so.
    rig.card("shop/web", "Silenced until").await;

    // A new problem in the silenced namespace opens nothing; elsewhere it does.
    rig.raise(signal("shop", "cart", SignalName::CrashLoop))
        .await;
    rig.raise(signal("blog", "web", SignalName::CrashLoop))
        .await;
    rig.raise(signal("docs", "web", SignalName::CrashLoop))
        .await;
    rig.advance(Duration::from_secs(30));
    eventually(WAIT, "the unsilenced incident", || async {
        rig.open()
            .await
            .contains(&"Deployment docs/web".to_string())
            .then_some(())
    })
    .await;
    rig.settled().await;
    assert_eq!(
        rig.numbered().await,
        101,
        "only docs/web opened an incident"
    );
    let open = rig.open().await;
    assert!(
        !open.contains(&"Deployment shop/cart".to_string()),
        "{open:?}"
    );
    assert!(
        !open.contains(&"Deployment blog/web".to_string()),
        "{open:?}"
    );

    // Ended early: what it held back and still fires opens now.
    let ended = rig
        .ask("alice", "unsilence blog/deployment/web", "Ended S-2")
        .await;
    assert!(ended.contains("blog/deployment/web"), "{ended}");
    rig.advance(Duration::from_secs(30));
    eventually(WAIT, "blog/web once unsilenced", || async {
        rig.open()
            .await
            .contains(&"Deployment blog/web".to_string())
            .then_some(())
    })
    .await;
    assert!(
        !rig.open()
            .await
            .contains(&"Deployment shop/cart".to_string())
    );

    // Expired: the same.
    rig.advance(Duration::from_secs(3600));
    eventually(WAIT, "shop/cart once the silence expired", || async {
        rig.open()
            .await
            .contains(&"Deployment shop/cart".to_string())
            .then_some(())
    })
    .await;
    rig.ask("bob", "silences", "No active silences.").await;
    rig.ask("alice", "unsilence S-1", "No active silence matches")
        .await;
    let silenced = rig.audited("silence").await;
    assert_eq!(silenced.len(), 2, "{silenced:?}");
    assert_eq!(rig.audited("unsilence").await.len(), 1);
    let notes = timeline(&rig, 1).await;
    assert!(
        notes
            .iter()
            .any(|(_, t, _)| t.starts_with("silenced until")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|(_, t, _)| t.starts_with("silence S-1 ended")),
        "{notes:?}"
    );
}

/// The card's Ack and Silence 1h buttons do what the commands do, and the card shows it.
pub async fn card_buttons_ack_and_silence(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &["alice"]).await;
    let alice = format!("{}:{}", rig.h.platform().name(), rig.h.user_id("alice"));
    let web = rig.card("shop/web", "CRITICAL").await;
    let answer = rig.click("alice", &web, "Ack", "acknowledged by").await;
    assert!(answer.contains("INC-1"), "{answer}");
    let web = rig.card("shop/web", "Acknowledged by").await;
    assert!(
        web.buttons.iter().all(|(l, _)| l != "Ack"),
        "Ack is gone once acked: {web:?}"
    );
    assert!(web.buttons.iter().any(|(l, _)| l == "Silence 1h"));
    assert_eq!(rig.stored(1).await.acked.map(|a| a.by), Some(alice.clone()));

    let api = rig.card("shop/api", "HIGH").await;
    let answer = rig.click("alice", &api, "Silence 1h", "Silenced").await;
    assert!(
        answer.contains("INC-2") && answer.contains("S-1"),
        "{answer}"
    );
    let api = rig.card("shop/api", "Silenced until").await;
    assert!(
        api.buttons.iter().all(|(l, _)| l != "Silence 1h"),
        "{api:?}"
    );
    let mark = rig.stored(2).await.silenced.expect("silenced");
    assert_eq!(mark.silence, "S-1");
    assert_eq!(mark.until, rig.now() + chrono::Duration::hours(1));
    // The silence covers what the incident is about, not its whole namespace.
    let list = rig.ask("alice", "silences", "1 active silence").await;
    assert!(list.contains("INC-2"), "{list}");
    assert_eq!(rig.audited("ack").await.len(), 1);
    assert_eq!(rig.audited("silence").await.len(), 1);
}

/// A conversation's suggestion goes to remediation only through its Propose button: the
/// operator's click hands the change, for the incident about its target, to the engine; the
/// clicker hears the engine's answer privately and the conversation is told who proposed what.
pub async fn propose_hands_a_suggestion_to_remediation(h: Arc<dyn ChatHarness>) {
    let rig = rig(h, &["alice"]).await;
    let alice = format!("{}:{}", rig.h.platform().name(), rig.h.user_id("alice"));
    let answer = rig
        .suggest(scale("api", 3), "api needs more replicas")
        .await;
    let told = rig
        .click("alice", &answer, "Propose deployment.scale", "Proposing")
        .await;
    // shop/api is INC-2's (INC-1 is shop/web's).
    assert_eq!(told, "Proposing deployment.scale for prod/INC-2");
    let proposed = rig.proposed.lock().unwrap().clone();
    assert_eq!(proposed.len(), 1);
    let p = &proposed[0];
    assert_eq!(p.incident, "prod/INC-2");
    assert_eq!(p.by, alice);
    assert_eq!(
        p.params,
        serde_json::json!({"namespace": "shop", "name": "api", "replicas": 3})
    );
    assert!(p.why.starts_with("more capacity"), "{}", p.why);
    // (Discord shows code spans with their backticks.)
    let note = rig
        .seen("its approval request follows")
        .await
        .text
        .replace('`', "");
    assert!(
        note.contains("proposed deployment.scale for prod/INC-2"),
        "{note}"
    );

    // A change about nothing that is open has no incident to join.
    let answer = rig
        .suggest(scale("cart", 2), "cart could use a replica")
        .await;
    rig.click(
        "alice",
        &answer,
        "Propose deployment.scale",
        "No open incident",
    )
    .await;
    assert_eq!(rig.proposed.lock().unwrap().len(), 1);
}
