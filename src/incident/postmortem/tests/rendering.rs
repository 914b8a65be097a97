//! The template (strict) and the chat message.

use super::*;
use crate::chat::{Block, Span, Text, Tone};
use crate::incident::postmortem::*;

const HEADINGS: [&str; 8] = [
    "Summary",
    "Impact",
    "Timeline",
    "Root cause",
    "Actions executed",
    "Rejected",
    "Lessons learned",
    "Prevention",
];

fn section<'a>(message: &'a crate::chat::Message, heading: &str) -> &'a Text {
    message
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Text { text }
                if text.0.first() == Some(&Span::Plain(String::new()))
                    && text.0.get(1) == Some(&Span::Bold(heading.into())) =>
            {
                Some(text)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {heading} section in {message:#?}"))
}

#[test]
fn the_builtin_template_renders_every_section_in_strict_mode() {
    let template = PostmortemTemplate::builtin().expect("compiles");
    assert_eq!(template.origin(), "built-in");
    let mut timeline = oom_timeline();
    timeline.push(proposal(
        3,
        "A-5",
        "deployment.rollout_restart",
        json!({"name": "web"}),
    ));
    timeline.push(decision(
        4,
        "A-5",
        "rejected",
        "slack:U2",
        Some("not the fix"),
    ));
    let pm = assemble(&resolved_oom(), &timeline, at(60));

    let text = template.render(&pm).expect("renders");
    for h in HEADINGS {
        assert!(text.contains(&format!("## {h}\n")), "{h} missing:\n{text}");
    }
    assert!(
        text.contains("• Duration: 8m (2025-03-04 09:00:00 UTC to 2025-03-04 09:08:00 UTC)"),
        "{text}"
    );
    assert!(text.contains("• Pods: shop/web-1, shop/web-2"), "{text}");
    assert!(text.contains("• Signals: oom_killed ×2"), "{text}");
    assert!(
        text.contains("• 09:05:00 decision by slack:U1: A-7 approved on slack"),
        "{text}"
    );
    assert!(
        text.contains("Diagnosis: model gpt-fake, 90% confidence"),
        "{text}"
    );
    assert!(
        text.contains(
            "• deployment.adjust_resources {\"container\":\"app\",\"memory_limit\":\"128Mi\",\
             \"name\":\"web\",\"namespace\":\"shop\"}: approved by slack:U1 at 09:05:00 on slack; \
             succeeded; verified: 3/3 pods ready, no restarts for 60s"
        ),
        "{text}"
    );
    assert!(
        text.contains("• deployment.rollout_restart {\"name\":\"web\"}: rejected by slack:U2 at 09:04:00, because: not the fix"),
        "{text}"
    );
    assert!(!text.contains("\n\n\n"), "no runs of blank lines:\n{text}");

    // The same in strict mode with nothing optional present.
    let bare = assemble(&incident(IncidentState::Detected, vec![]), &[], at(5));
    let text = template.render(&bare).expect("renders the bare minimum");
    assert!(text.contains("## Actions executed\n• none"), "{text}");
    assert!(text.contains("## Timeline\n• nothing recorded"), "{text}");
}

#[test]
fn the_message_has_a_header_facts_and_sections() {
    let pm = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let m = pm.to_message();
    let header = m.header.as_ref().expect("header");
    assert_eq!(header.title, "Postmortem — prod/INC-1");
    assert_eq!(
        (header.badge.as_str(), header.tone),
        ("RESOLVED", Tone::Good)
    );
    let Some(Block::Fields { fields }) =
        m.blocks.iter().find(|b| matches!(b, Block::Fields { .. }))
    else {
        panic!("no fields: {m:#?}")
    };
    let value = |label: &str| {
        fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.to_plain())
            .unwrap_or_default()
    };
    assert_eq!(value("Duration"), "8m");
    assert_eq!(value("Outcome"), "resolved");
    assert_eq!(value("Severity"), "high (score 65)");
    assert_eq!(value("Actions"), "1 executed, 0 rejected");
    for h in HEADINGS {
        section(&m, h);
    }
    let timeline = section(&m, "Timeline").to_plain();
    assert_eq!(
        timeline.lines().filter(|l| l.starts_with("• ")).count(),
        pm.timeline.len()
    );
    assert!(
        matches!(m.blocks.last(), Some(Block::Context { text }) if text.to_plain().starts_with("Assembled by Lookout"))
    );

    let escalated = assemble(
        &incident(IncidentState::Escalated, vec![oom("web-1")]),
        &[],
        at(5),
    );
    let header = escalated.to_message().header.expect("header");
    assert_eq!(
        (header.badge.as_str(), header.tone),
        ("ESCALATED", Tone::Danger)
    );
}

#[test]
fn an_override_replaces_the_template_and_a_broken_one_still_posts_the_facts() {
    let pm = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        PostmortemTemplate::from_dir(Some(dir.path()))
            .unwrap()
            .origin(),
        "built-in"
    );

    std::fs::write(dir.path().join("postmortem.hbs"), "## Short\n{{summary}}\n").unwrap();
    let short = PostmortemTemplate::from_dir(Some(dir.path())).unwrap();
    assert!(short.origin().ends_with("postmortem.hbs"));
    let m = pm.to_message_with(&short);
    assert!(
        section(&m, "Short")
            .to_plain()
            .contains("resolved after 8m")
    );

    // Strict: a misspelt variable is an error, not an empty line.
    std::fs::write(dir.path().join("postmortem.hbs"), "## Oops\n{{sumary}}\n").unwrap();
    let misspelt = PostmortemTemplate::from_dir(Some(dir.path())).unwrap();
    let e = misspelt.render(&pm).expect_err("strict");
    assert!(matches!(e, TemplateError::Render { .. }), "{e}");
    let m = pm.to_message_with(&misspelt);
    assert_eq!(
        m.header.as_ref().map(|h| h.title.as_str()),
        Some("Postmortem — prod/INC-1")
    );
    assert!(
        m.to_plain().contains("could not be rendered"),
        "{}",
        m.to_plain()
    );

    std::fs::write(dir.path().join("postmortem.hbs"), "{{#each}").unwrap();
    let e = PostmortemTemplate::from_dir(Some(dir.path())).expect_err("does not parse");
    assert!(matches!(e, TemplateError::Compile { .. }), "{e}");
}

#[test]
fn the_prompt_gets_the_facts_and_renders_strictly() {
    let pm = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let vars = prompt_vars(&pm);
    assert_eq!(vars.outcome, "resolved");
    assert_eq!(vars.duration, "8m");
    assert_eq!(vars.incident.signals, ["oom_killed"]);
    assert_eq!(vars.affected[0], "Deployment shop/web");
    assert!(vars.affected.contains(&"Pod shop/web-1".to_string()));
    assert_eq!(vars.actions[0].approved_by, "slack:U1");
    assert_eq!(vars.actions[0].params["memory_limit"], "128Mi");
    assert!(
        vars.diagnosis
            .as_deref()
            .is_some_and(|d| d.contains("64Mi"))
    );
    let prompts = crate::llm::Prompts::from_dir(None).expect("prompts");
    let text = prompts.postmortem(&vars).expect("strict render");
    assert!(
        text.contains("approved by slack:U1: succeeded; verified"),
        "{text}"
    );
    assert!(
        text.contains("decision by slack:U1: A-7 approved on slack"),
        "{text}"
    );
}
