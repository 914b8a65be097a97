//! `help`: every command, one line each.

use crate::chat::message::{Message, Text};

/// (command, what it does, needs the operator role).
const COMMANDS: &[(&str, &str, bool)] = &[
    ("help", "this list", false),
    (
        "status",
        "nodes ready, pods not running by namespace, open incidents by severity",
        false,
    ),
    (
        "incidents",
        "open incidents, with links to their threads",
        false,
    ),
    (
        "incident <id>",
        "an incident's card and timeline (INC-7 or the full id)",
        false,
    ),
    (
        "ack <id>",
        "take it on: the card shows who, reminders stop",
        true,
    ),
    (
        "silence <scope> <duration>",
        "open no incidents for ns/<namespace>, <namespace>/<kind>/<name>, node/<name>, signal/<name> or an incident id, e.g. `silence ns/shop 2h`",
        true,
    ),
    ("silences", "active silences", false),
    ("unsilence <id | scope>", "end a silence early", true),
    (
        "resolve <id>",
        "close it (signals still firing stay quiet until they clear)",
        true,
    ),
    ("dismiss <id>", "close it as a false alarm", true),
    (
        "pause / resume",
        "stop or restart automatic diagnosis and proposals everywhere",
        true,
    ),
    ("runbooks [name]", "the runbooks, or one in full", false),
    ("digest now", "a digest of the last 24 hours, here", false),
];

pub fn help(cluster: &str) -> Message {
    let mut m = Message::text(Text::plain("").bold(format!("Lookout for {cluster}")))
        .paragraph(Text::plain("Mention me with one of:"));
    for (command, what, operator) in COMMANDS {
        let mut line = Text::plain("• ").code(*command).and(format!(" — {what}"));
        if *operator {
            line = line.and(" (operator)");
        }
        m = m.paragraph(line);
    }
    m.context(
        "Each incident has a card that I keep up to date, and a thread with the details. \
         (operator): needs the operator or admin role.",
    )
}
