//! Conversation memory: each answered question is one turn in the store, keyed by the thread,
//! forgotten `store.conversation_ttl` after the last turn and capped at
//! `store.conversation_max_turns` by the store. What a follow-up sends to the model is capped
//! again here, in characters: the latest turns in full, older ones summarised by their
//! question, the oldest dropped. Turns are stored redacted (they go to the model again).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::chat::ThreadRef;
use crate::store::{StateStore, StoreResult};

/// Longest question quoted in the summary of older turns.
const SUMMARY_QUESTION_CHARS: usize = 160;

/// One question and its answer, as remembered (both already redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub at: DateTime<Utc>,
    /// Who asked, as a platform identity (`slack:U0123`).
    pub asker: String,
    pub question: String,
    /// The answer as posted, its "Looked at" line included.
    pub answer: String,
    /// The conversation began with a mention in a thread that was already there (an incident's
    /// card, people talking): there only mentions continue it, so people talking in that
    /// thread are not answered unasked. Carried by every turn, as older ones are dropped.
    #[serde(default)]
    pub mentions_only: bool,
}

impl Turn {
    fn chars(&self) -> usize {
        self.question.chars().count() + self.answer.chars().count()
    }
}

/// What a follow-up is sent of the earlier turns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recalled {
    /// One line per older turn that did not fit in full, if any did not.
    pub summary: Option<String>,
    /// The latest turns in full, oldest first.
    pub turns: Vec<Turn>,
}

/// PURE: whether a reply without a mention continues the conversation of these turns: only
/// when there is one and its thread is the conversation's own.
pub fn continues_unmentioned(turns: &[Turn]) -> bool {
    turns.last().is_some_and(|t| !t.mentions_only)
}

/// The store key of a thread's conversation.
pub fn key(thread: &ThreadRef) -> String {
    thread.key()
}

/// The remembered turns, oldest first; an unreadable one is skipped.
pub async fn load(store: &dyn StateStore, key: &str) -> StoreResult<Vec<Turn>> {
    let raw = store.conversation(key).await?;
    Ok(raw
        .iter()
        .filter_map(|json| match serde_json::from_str(json) {
            Ok(t) => Some(t),
            Err(error) => {
                warn!(%error, conversation = key, "unreadable conversation turn skipped");
                None
            }
        })
        .collect())
}

pub async fn remember(store: &dyn StateStore, key: &str, turn: &Turn) -> StoreResult<()> {
    // Our own type always serializes.
    let json = serde_json::to_string(turn).unwrap_or_default();
    store.append_turn(key, &json).await
}

/// PURE: fits `turns` (oldest first) into `max_chars`. Three quarters of it go to the latest
/// turns in full (the newest is always kept, its answer cut if it alone is too long); the
/// rest to a summary of older turns by question; older still are only counted.
pub fn recall(turns: Vec<Turn>, max_chars: usize) -> Recalled {
    let full_budget = max_chars * 3 / 4;
    let summary_budget = max_chars - full_budget;
    let mut kept: Vec<Turn> = Vec::new();
    let mut used = 0;
    let mut older = turns.into_iter().rev().peekable();
    while let Some(t) = older.peek() {
        let size = t.chars();
        if !kept.is_empty() && used + size > full_budget {
            break;
        }
        let mut t = older.next().expect("peeked");
        if size > full_budget {
            let room = full_budget.saturating_sub(t.question.chars().count());
            t.answer = cut(&t.answer, room);
        }
        used += t.chars();
        kept.push(t);
    }
    kept.reverse();

    let mut lines: Vec<String> = Vec::new();
    let mut summary_used = 0;
    let mut forgotten = 0;
    for t in older {
        let line = format!(
            "- {} asked: {}",
            t.asker,
            cut(&t.question, SUMMARY_QUESTION_CHARS)
        );
        if forgotten == 0 && summary_used + line.chars().count() <= summary_budget {
            summary_used += line.chars().count() + 1;
            lines.push(line);
        } else {
            forgotten += 1;
        }
    }
    if lines.is_empty() && forgotten == 0 {
        return Recalled {
            summary: None,
            turns: kept,
        };
    }
    lines.reverse();
    let mut summary =
        String::from("Earlier in this thread (summarised; those answers are not kept):\n");
    if forgotten > 0 {
        summary += &format!("- ({forgotten} older questions forgotten)\n");
    }
    summary += &lines.join("\n");
    Recalled {
        summary: Some(summary.trim_end().to_string()),
        turns: kept,
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::{ManualClock, SharedClock};
    use crate::store::{MemoryStore, Retention};

    fn turn(n: usize, size: usize) -> Turn {
        Turn {
            at: "2024-05-01T10:00:00Z".parse().unwrap(),
            asker: "slack:U1".into(),
            question: format!("question {n}: {}", "why ".repeat(50)),
            answer: "a".repeat(size),
            mentions_only: false,
        }
    }

    #[test]
    fn only_the_conversations_own_thread_continues_without_a_mention() {
        assert!(!continues_unmentioned(&[]));
        assert!(continues_unmentioned(&[turn(1, 10)]));
        let elsewhere = Turn {
            mentions_only: true,
            ..turn(2, 10)
        };
        assert!(!continues_unmentioned(&[turn(1, 10), elsewhere]));
        // Turns stored before the flag existed read as the conversation's own thread.
        let old = r#"{"at":"2024-05-01T10:00:00Z","asker":"slack:U1","question":"q","answer":"a"}"#;
        let t: Turn = serde_json::from_str(old).unwrap();
        assert!(continues_unmentioned(&[t]));
    }

    #[test]
    fn everything_fits_nothing_is_summarised() {
        let turns = vec![turn(1, 100), turn(2, 100)];
        let r = recall(turns.clone(), 10_000);
        assert_eq!(r.summary, None);
        assert_eq!(r.turns, turns);
    }

    #[test]
    fn older_turns_become_their_questions_and_the_oldest_are_dropped() {
        // 20 turns of ~1000 chars with 4000 chars allowed: the latest 2 in full (3000 budget),
        // some questions summarised in the remaining 1000, the oldest only counted.
        let turns: Vec<Turn> = (1..=20).map(|n| turn(n, 1000)).collect();
        let r = recall(turns, 4000);
        let kept: Vec<&str> = r.turns.iter().map(|t| &t.question[..11]).collect();
        assert_eq!(kept, ["question 19", "question 20"]);
        let summary = r.summary.expect("a summary");
        assert!(summary.contains("question 18:"), "{summary}");
        assert!(!summary.contains("question 1:"), "{summary}");
        assert!(summary.contains("older questions forgotten"), "{summary}");
        assert!(summary.chars().count() <= 1000 + 100, "{summary}");
        // The summary lists oldest first, ending with the turn just before the kept ones.
        let last = summary.lines().last().unwrap();
        assert!(last.contains("question 18:"), "{summary}");
    }

    #[test]
    fn a_single_huge_answer_is_cut_to_the_budget() {
        let r = recall(vec![turn(1, 50_000)], 2000);
        assert_eq!(r.turns.len(), 1);
        assert!(r.turns[0].chars() <= 1500, "{}", r.turns[0].chars());
        assert!(r.turns[0].answer.ends_with('…'));
    }

    #[tokio::test]
    async fn memory_expires_after_the_ttl_and_keeps_the_latest_turns() {
        let clock = ManualClock::new("2024-05-01T10:00:00Z".parse().unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let store = MemoryStore::new(
            shared,
            Retention {
                records: Duration::from_secs(86_400),
                conversation_ttl: Duration::from_secs(600),
                conversation_max_turns: 3,
                audit_max_len: 10,
            },
        );
        let thread = ThreadRef {
            platform: "slack".into(),
            channel: "C1".into(),
            id: "171.1".into(),
        };
        let k = key(&thread);
        for n in 1..=5 {
            remember(&store, &k, &turn(n, 10)).await.unwrap();
        }
        let kept: Vec<String> = load(&store, &k)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.question[..10].to_string())
            .collect();
        assert_eq!(kept, ["question 3", "question 4", "question 5"]);
        // Each turn restarts the TTL: 9 minutes later it is still there.
        clock.advance(Duration::from_secs(540));
        assert_eq!(load(&store, &k).await.unwrap().len(), 3);
        clock.advance(Duration::from_secs(61));
        assert!(load(&store, &k).await.unwrap().is_empty());
    }
}
