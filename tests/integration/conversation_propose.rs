//! A conversation's suggestion becomes a change only through the approval path: the whole bot
//! on fake Slack with the scripted model and the real test cluster. An OOM-looping Deployment
//! opens an incident that gets no automatic remediation (outside `remediation.namespaces`);
//! asked about it, the model suggests two changes; each shows a Propose button. A person
//! without the operator role is refused; Propose puts an approval request in the incident's
//! thread and says so in the conversation; a second suggestion waits while that one is
//! pending, and the same one is never proposed twice; nothing changes before Approve; after
//! it the change is executed and verified, the incident resolves, and its postmortem names the
//! change and who proposed it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::config::Config;
use lookout::remediation::{REMEDIATIONS, Remediation};
use lookout::store::StoreExt;
use serde_json::json;

use crate::approval_loop::{
    ALICE, BOB, approval_in, break_it, button, card_of, loop_config, memory_limit, postmortem_in,
};
use crate::conversation::use_model;
use crate::fakes::openai::{FakeOpenAi, Step};
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::Bot;
use crate::sim::SimTest;
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(90);
/// Holds no role.
const CAROL: &str = "UCAROL";

/// The approval loop's bot (approvers alice and bob) with the fake model.
fn config(t: &SimTest, slack: &FakeSlack, model: &FakeOpenAi) -> Config {
    lookout::install_crypto_provider();
    let mut c = loop_config(t, slack);
    // No automatic remediation for this namespace: the only proposals are people's.
    c.remediation.namespaces = vec!["somewhere-else".into()];
    use_model(&mut c, model);
    c
}

/// The bot on fake Slack with the scripted model, and `name` OOM-looping in the cluster with
/// its incident's card posted.
struct Rig {
    slack: FakeSlack,
    model: FakeOpenAi,
    t: SimTest,
    bot: Bot,
    ns: String,
    card: Stored,
}

impl Rig {
    async fn start(name: &str) -> Self {
        let slack = FakeSlack::start().await;
        let model = FakeOpenAi::start().await;
        let t = SimTest::start(1).await;
        let ns = t.ns.name.clone();
        let bot = Bot::start(config(&t, &slack, &model)).await;
        slack.wait_connects(1).await;
        break_it(&t, name).await;
        let card = eventually(WAIT, "the card", || async {
            card_of(&slack, &format!("{ns}/{name}"))
        })
        .await;
        Self {
            slack,
            model,
            t,
            bot,
            ns,
            card,
        }
    }
}

/// The ephemeral message for `user` that has `needle`; on timeout, everything they were told.
async fn told(slack: &FakeSlack, user: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all: Vec<String> = slack
            .ephemeral_for(user)
            .into_iter()
            .map(|e| e.text)
            .collect();
        if let Some(t) = all.iter().find(|t| t.contains(needle)) {
            return t.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{needle}` never told to {user}; they were told {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Approval requests in the incident's thread (messages with an Approve button).
fn approvals_in(slack: &FakeSlack, card: &Stored) -> usize {
    slack
        .bot_messages(ALERTS)
        .iter()
        .filter(|m| {
            m.thread() == Some(card.ts.as_str())
                && m.buttons().iter().any(|(label, _)| label == "Approve")
        })
        .count()
}

#[tokio::test]
async fn a_suggestion_is_proposed_with_its_button_and_runs_only_once_approved() {
    let Rig {
        slack,
        model,
        t,
        bot,
        ns,
        card,
    } = Rig::start("checkout").await;

    // Asked in the channel (not in the incident's thread): the model suggests two changes.
    model.script([
        Step::tool_call(
            "suggest_action",
            json!({"action": "deployment_adjust_resources", "reason": "it needs about 100Mi",
                   "params": {"namespace": ns, "name": "checkout", "container": "app",
                              "memory_limit": "128Mi", "memory_request": "128Mi"}}),
        ),
        Step::tool_call(
            "suggest_action",
            json!({"action": "deployment_scale", "reason": "a spare replica",
                   "params": {"namespace": ns, "name": "checkout", "replicas": 2}}),
        ),
        Step::text("checkout is OOM-killed: it needs about 100Mi and is limited to 64Mi."),
    ]);
    let ts = slack
        .mention(ALERTS, None, CAROL, "why does checkout keep restarting?")
        .await;
    let answer = eventually(WAIT, "the answer", || async {
        slack
            .bot_messages(ALERTS)
            .into_iter()
            .find(|m| m.thread() == Some(ts.as_str()) && m.readable().contains("OOM-killed"))
    })
    .await;
    let labels: Vec<String> = answer.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels,
        [
            "Propose deployment.adjust_resources",
            "Propose deployment.scale"
        ]
    );
    let adjust = button(&answer, "Propose deployment.adjust_resources");
    let scale = button(&answer, "Propose deployment.scale");

    // Proposing changes things: the operator role is needed.
    slack.click(ALERTS, &answer.ts, CAROL, &adjust).await;
    told(&slack, CAROL, "needs the operator role").await;

    slack.click(ALERTS, &answer.ts, BOB, &adjust).await;
    let accepted = told(&slack, BOB, "Proposing deployment.adjust_resources").await;
    assert!(accepted.contains("INC-"), "{accepted}");
    let approval = eventually(
        WAIT,
        "the approval request in the incident's thread",
        || async { approval_in(&slack, &card) },
    )
    .await;
    let text = approval.readable();
    assert!(text.contains("deployment.adjust_resources"), "{text}");
    assert!(
        text.contains("128Mi") && text.contains("64Mi"),
        "the dry-run diff: {text}"
    );
    assert!(
        text.contains(&format!("conversation:slack:{BOB}")),
        "who proposed it: {text}"
    );
    assert!(text.contains("it needs about 100Mi"), "why: {text}");
    // The conversation hears where it went.
    eventually(WAIT, "the note in the conversation", || async {
        slack.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(ts.as_str())
                && m.readable()
                    .contains("proposed deployment.adjust_resources")
        })
    })
    .await;

    // While it waits for a decision, the other suggestion waits too; the same one is never
    // proposed twice.
    slack.click(ALERTS, &answer.ts, ALICE, &scale).await;
    let waiting = told(&slack, ALICE, "is waiting for a decision").await;
    assert!(waiting.contains("decide it first"), "{waiting}");
    slack.click(ALERTS, &answer.ts, ALICE, &adjust).await;
    told(&slack, ALICE, "already proposed").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(approvals_in(&slack, &card), 1, "one approval request");
    assert_eq!(
        memory_limit(&t, "checkout").await,
        "64Mi",
        "nothing runs before approval"
    );

    slack
        .click(ALERTS, &approval.ts, ALICE, &button(&approval, "Approve"))
        .await;
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "checkout").await == "128Mi").then_some(())
    })
    .await;
    eventually(WAIT, "the approval showing it verified", || async {
        let m = slack.message(ALERTS, &approval.ts)?;
        m.readable().contains("verified").then_some(())
    })
    .await;
    eventually(WAIT, "the card edited to resolved", || async {
        let c = slack.message(ALERTS, &card.ts)?;
        c.readable().contains("RESOLVED").then_some(())
    })
    .await;
    let pm = eventually(WAIT, "the postmortem", || async {
        postmortem_in(&slack, &card)
    })
    .await
    .readable();
    assert!(pm.contains("deployment.adjust_resources"), "{pm}");
    assert!(pm.contains(&format!("slack:{ALICE}")), "who approved: {pm}");

    // The incident is over: its remaining suggestion has nothing to join.
    slack.click(ALERTS, &answer.ts, BOB, &scale).await;
    told(&slack, BOB, "No open incident").await;
    let asked_again = slack
        .bot_messages(ALERTS)
        .into_iter()
        .any(|m| m.thread() == Some(card.ts.as_str()) && m.readable().contains("A-2"));
    assert!(!asked_again, "one approval request in all");
    bot.stop().await;
    t.stop().await;
}

/// The stored remediation of the only incident, once it is back to `status` with no
/// proposed change under way.
async fn remediation_back_to(bot: &Bot, status: &str) {
    eventually(
        WAIT,
        &format!("the remediation back to {status}"),
        || async {
            let ids = bot.store.list(REMEDIATIONS).await.ok()?;
            let id = ids.first()?;
            let r: Remediation = bot.store.get_json(REMEDIATIONS, id).await.ok()??;
            let json = serde_json::to_value(&r).ok()?;
            (json["status"] == status && r.suggested.is_none()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn in_the_incidents_thread_a_rejected_proposal_leaves_the_way_open_for_the_next() {
    let Rig {
        slack,
        model,
        t,
        bot,
        ns,
        card,
    } = Rig::start("cart").await;

    model.script([
        Step::tool_call(
            "suggest_action",
            json!({"action": "deployment_scale", "reason": "spread the load",
                   "params": {"namespace": ns, "name": "cart", "replicas": 2}}),
        ),
        Step::tool_call(
            "suggest_action",
            json!({"action": "deployment_adjust_resources", "reason": "it needs about 100Mi",
                   "params": {"namespace": ns, "name": "cart", "container": "app",
                              "memory_limit": "128Mi", "memory_request": "128Mi"}}),
        ),
        Step::text("cart is OOM-killed."),
    ]);
    // Asked in the incident's own thread: the suggestion belongs to that incident.
    let question = slack
        .mention(ALERTS, Some(&card.ts), BOB, "what would fix cart?")
        .await;
    let answer = eventually(WAIT, "the answer in the incident's thread", || async {
        slack.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(card.ts.as_str()) && m.readable().contains("cart is OOM-killed")
        })
    })
    .await;
    assert_ne!(answer.ts, question);

    slack
        .click(
            ALERTS,
            &answer.ts,
            BOB,
            &button(&answer, "Propose deployment.scale"),
        )
        .await;
    let first = eventually(WAIT, "the scale's approval request", || async {
        approval_in(&slack, &card)
    })
    .await;
    assert!(first.readable().contains("deployment.scale"));
    slack
        .click(ALERTS, &first.ts, ALICE, &button(&first, "Reject"))
        .await;
    // Rejected: nothing was scaled, and the remediation is idle again at once (no model step
    // waits for the reason).
    remediation_back_to(&bot, "done").await;
    let cart: Deployment = t.api::<Deployment>().get("cart").await.unwrap();
    assert_eq!(cart.spec.replicas, Some(1), "nothing was scaled");

    slack
        .click(
            ALERTS,
            &answer.ts,
            BOB,
            &button(&answer, "Propose deployment.adjust_resources"),
        )
        .await;
    told(&slack, BOB, "Proposing deployment.adjust_resources").await;
    let second = eventually(WAIT, "the second approval request", || async {
        slack.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(card.ts.as_str())
                && m.buttons().iter().any(|(l, _)| l == "Approve")
                && m.readable().contains("deployment.adjust_resources")
        })
    })
    .await;
    // In the incident's own thread the approval request says it all: no extra note.
    let noted = slack.bot_messages(ALERTS).into_iter().any(|m| {
        m.thread() == Some(card.ts.as_str())
            && m.readable().contains("; its approval request follows")
    });
    assert!(!noted);
    slack
        .click(ALERTS, &second.ts, ALICE, &button(&second, "Approve"))
        .await;
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "cart").await == "128Mi").then_some(())
    })
    .await;
    eventually(WAIT, "the card edited to resolved", || async {
        let c = slack.message(ALERTS, &card.ts)?;
        c.readable().contains("RESOLVED").then_some(())
    })
    .await;
    bot.stop().await;
    t.stop().await;
}
