//! Reminders with time on a manual clock: an unacknowledged high or critical incident
//! re-mentions the on-call in its thread every `remind_every`, once even with two processes
//! and a restart; an ack stops them; medium incidents get none.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lookout::chat::redact::NoRedaction;
use lookout::chat::reminders::Reminders;
use lookout::clock::ManualClock;
use lookout::correlate::Severity;
use lookout::incident::TimelineEntry;
use lookout::remediation::EscalationConfig;
use lookout::store::StoreExt;
use tokio_util::sync::CancellationToken;

use super::rig::{CommandRig, incident};
use crate::chat::console::ConsoleHarness;
use crate::chat::harness::ChatHarness;
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(20);
const EVERY: Duration = Duration::from_secs(15 * 60);

/// A process's reminder loop over the rig's store and chat.
fn reminders(rig: &CommandRig) -> Reminders {
    let escalation: EscalationConfig =
        serde_yaml_ng::from_str("{ on_call: { console: ['@oncall'] }, remind_every: 15m }")
            .expect("escalation");
    assert_eq!(escalation.remind_every, EVERY);
    Reminders {
        store: rig.store.clone(),
        clock: Arc::new(rig.clock.clone()),
        outbound: rig.outbound.clone(),
        escalation,
        redact: Arc::new(NoRedaction),
    }
}

/// Reminder messages about `INC-<n>` in its thread.
async fn reminded(rig: &CommandRig, n: u64) -> Vec<String> {
    rig.h
        .messages(&rig.h.channel())
        .await
        .into_iter()
        .filter(|m| {
            m.thread.is_some()
                && m.text.contains("Reminder")
                && m.text.contains(&format!("INC-{n} "))
        })
        .map(|m| m.text)
        .collect()
}

async fn wait_reminded(rig: &CommandRig, n: u64, count: usize) {
    eventually(WAIT, &format!("{count} reminder(s) of INC-{n}"), || async {
        (reminded(rig, n).await.len() >= count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn unacknowledged_incidents_remind_the_on_call_until_acked() {
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let h: Arc<dyn ChatHarness> = Arc::new(ConsoleHarness::new().await);
    let incidents = vec![
        incident(
            1,
            "shop",
            "web",
            Severity::Critical,
            start - chrono::Duration::minutes(1),
        ),
        incident(
            2,
            "shop",
            "api",
            Severity::Medium,
            start - chrono::Duration::minutes(1),
        ),
        incident(3, "shop", "db", Severity::High, start),
    ];
    let rig = CommandRig::start(h, &["alice"], clock, incidents).await;
    // Two processes sharing the store.
    let stop = CancellationToken::new();
    for _ in 0..2 {
        tokio::spawn(reminders(&rig).run(rig.bus.subscribe(), stop.child_token()));
    }
    rig.card("shop/db", "HIGH").await;
    assert!(reminded(&rig, 1).await.is_empty(), "nothing is due yet");

    rig.advance(EVERY);
    wait_reminded(&rig, 1, 1).await;
    wait_reminded(&rig, 3, 1).await;
    let first = &reminded(&rig, 1).await[0];
    assert!(
        first.contains("@oncall"),
        "the on-call is mentioned: {first}"
    );
    assert!(first.contains("CRITICAL incident"), "{first}");
    assert!(first.contains("not been acknowledged for 16m"), "{first}");

    rig.ask("alice", "ack INC-1", "acknowledged by").await;
    eventually(WAIT, "the ack stored", || async {
        rig.stored(1).await.acked.map(|_| ())
    })
    .await;
    // A restart: a third process starts with the first two still running.
    tokio::spawn(reminders(&rig).run(rig.bus.subscribe(), stop.child_token()));
    rig.advance(EVERY);
    wait_reminded(&rig, 3, 2).await;
    rig.advance(EVERY);
    wait_reminded(&rig, 3, 3).await;

    assert_eq!(reminded(&rig, 1).await.len(), 1, "acked: no more reminders");
    assert!(
        reminded(&rig, 2).await.is_empty(),
        "medium incidents are not reminded"
    );
    let third = reminded(&rig, 3).await;
    assert_eq!(
        third.len(),
        3,
        "one per period across three processes: {third:#?}"
    );
    assert!(
        third[2].contains("not been acknowledged for 45m"),
        "{third:#?}"
    );
    let notes: Vec<String> = rig
        .store
        .timeline_json::<TimelineEntry>("prod/INC-3")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .filter(|t| t.starts_with("reminder"))
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    stop.cancel();
}
