//! The demo's console: the chat console on the terminal, with a narrator that watches the
//! conversation, points out the approval prompt (and presses it with `--yes`) and knows when
//! the loop has come round to the postmortem.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Mutex;

use super::say;
use crate::approval::APPROVE;
use crate::chat::console::ConsolePlatform;
use crate::chat::{ActionCodec, SharedPlatform};

pub struct DemoConsole {
    platform: Arc<ConsolePlatform>,
    /// What the console reads: the terminal's lines, and the narrator's clicks with `--yes`.
    input: Arc<Mutex<DuplexStream>>,
}

impl DemoConsole {
    pub fn new(user: &str) -> Self {
        let (reader, writer) = tokio::io::duplex(64 * 1024);
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let platform = Arc::new(ConsolePlatform::with_io(
            user,
            Box::new(tokio::io::BufReader::new(reader)),
            Box::new(std::io::stdout()),
            color,
        ));
        let input = Arc::new(Mutex::new(writer));
        let forward = input.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if type_line(&forward, &line).await.is_err() {
                    break;
                }
            }
        });
        Self { platform, input }
    }

    pub fn platform(&self) -> SharedPlatform {
        self.platform.clone()
    }

    /// Follows the conversation until the postmortem is posted: announces each approval
    /// prompt (with the time since the demo started) and, with `yes`, approves it.
    pub async fn walk_through(
        &self,
        yes: bool,
        started: Instant,
        timeout: Duration,
    ) -> Result<(), String> {
        let codec = ActionCodec::new("demo");
        let mut prompted: BTreeSet<String> = BTreeSet::new();
        loop {
            let transcript = self.platform.transcript();
            // The demo's incident is the first card; its postmortem ends the walk-through.
            let card = transcript.iter().find(|m| m.thread.is_none()).map(|m| m.id);
            for m in transcript {
                for (number, id) in &m.buttons {
                    let Ok(action) = codec.decode(id) else {
                        continue;
                    };
                    if action.verb != APPROVE || !prompted.insert(action.arg.clone()) {
                        continue;
                    }
                    let first = if prompted.len() == 1 { "first " } else { "" };
                    say(&format!(
                        "{first}approval prompt {} after {:.0} s: button [{number}] approves it",
                        action.arg,
                        started.elapsed().as_secs_f64()
                    ));
                    if yes {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        say(&format!("--yes: clicking [{number}]"));
                        type_line(&self.input, &format!("click {number}"))
                            .await
                            .map_err(|e| format!("cannot click: {e}"))?;
                    }
                }
                if card.is_some() && m.thread == card && m.message.to_plain().contains("Postmortem")
                {
                    say(&format!(
                        "postmortem posted after {:.0} s: the incident is closed",
                        started.elapsed().as_secs_f64()
                    ));
                    return Ok(());
                }
            }
            if yes && started.elapsed() > timeout {
                return Err(format!(
                    "no postmortem within {}",
                    humantime::format_duration(timeout)
                ));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

async fn type_line(input: &Mutex<DuplexStream>, line: &str) -> std::io::Result<()> {
    let mut w = input.lock().await;
    w.write_all(line.as_bytes()).await?;
    w.write_all(b"\n").await?;
    w.flush().await
}
