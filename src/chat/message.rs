//! The neutral message model: what Lookout says, before any platform's syntax. Adapters render
//! it (Slack Block Kit, Discord embeds and components, Telegram HTML and inline keyboards, the
//! console's text); the behaviour that builds messages never sees a platform format.

use serde::{Deserialize, Serialize};

/// One message: an optional header, blocks of content, and buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The card header: title with a severity/state badge and a tone (colour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub title: String,
    /// Short label shown before the title, e.g. `HIGH`, `RESOLVED`.
    pub badge: String,
    pub tone: Tone,
}

/// How a message should feel: the colour of an embed/attachment, a console colour, an emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    #[default]
    Neutral,
    Good,
    Info,
    Warning,
    Danger,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph.
    Text {
        text: Text,
    },
    /// Label/value pairs, shown side by side where the platform can.
    Fields {
        fields: Vec<Field>,
    },
    /// Preformatted text (logs, diffs, describe output); never reformatted.
    Code {
        code: String,
    },
    /// Small, secondary text.
    Context {
        text: Text,
    },
    Divider,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: Text,
}

/// Inline text as spans, so each platform escapes and formats it its own way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text(pub Vec<Span>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Span {
    Plain(String),
    Bold(String),
    Code(String),
    Link { label: String, url: String },
    Mention(Mention),
}

/// Someone to notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Mention {
    /// A user by the platform's own id (`U0123ABCD`, a Discord snowflake, a Telegram user id).
    User(String),
    /// A handle as configured, used verbatim (`<!subteam^S0123>`, `<@&role>`, `@oncall`).
    Raw(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    /// Opaque to the platform; see `chat::action`.
    pub action: String,
    pub style: ButtonStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    #[default]
    Default,
    Primary,
    Danger,
}

impl Text {
    pub fn plain(s: impl Into<String>) -> Self {
        Self(vec![Span::Plain(s.into())])
    }

    pub fn push(mut self, span: Span) -> Self {
        self.0.push(span);
        self
    }

    pub fn bold(self, s: impl Into<String>) -> Self {
        self.push(Span::Bold(s.into()))
    }

    pub fn code(self, s: impl Into<String>) -> Self {
        self.push(Span::Code(s.into()))
    }

    pub fn and(self, s: impl Into<String>) -> Self {
        self.push(Span::Plain(s.into()))
    }

    /// The text without formatting (for fallbacks, lengths and the console).
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for span in &self.0 {
            match span {
                Span::Plain(s) | Span::Bold(s) | Span::Code(s) => out.push_str(s),
                Span::Link { label, .. } => out.push_str(label),
                Span::Mention(Mention::User(id)) => {
                    out.push('@');
                    out.push_str(id);
                }
                Span::Mention(Mention::Raw(s)) => out.push_str(s),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|s| match s {
            Span::Plain(t) | Span::Bold(t) | Span::Code(t) => t.is_empty(),
            _ => false,
        })
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::plain(s)
    }
}

impl Message {
    /// A message of one paragraph.
    pub fn text(text: impl Into<Text>) -> Self {
        Self {
            blocks: vec![Block::Text { text: text.into() }],
            ..Self::default()
        }
    }

    pub fn with_header(
        mut self,
        title: impl Into<String>,
        badge: impl Into<String>,
        tone: Tone,
    ) -> Self {
        self.header = Some(Header {
            title: title.into(),
            badge: badge.into(),
            tone,
        });
        self
    }

    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn paragraph(self, text: impl Into<Text>) -> Self {
        self.block(Block::Text { text: text.into() })
    }

    pub fn code(self, code: impl Into<String>) -> Self {
        self.block(Block::Code { code: code.into() })
    }

    pub fn context(self, text: impl Into<Text>) -> Self {
        self.block(Block::Context { text: text.into() })
    }

    pub fn button(
        mut self,
        label: impl Into<String>,
        action: impl Into<String>,
        style: ButtonStyle,
    ) -> Self {
        self.buttons.push(Button {
            label: label.into(),
            action: action.into(),
            style,
        });
        self
    }

    /// The whole message as plain text: notification fallbacks, the console, and searching.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        if let Some(h) = &self.header {
            out.push_str(&format!("[{}] {}\n", h.badge, h.title));
        }
        for b in &self.blocks {
            match b {
                Block::Text { text } | Block::Context { text } => {
                    out.push_str(&text.to_plain());
                    out.push('\n');
                }
                Block::Fields { fields } => {
                    for f in fields {
                        out.push_str(&format!("{}: {}\n", f.label, f.value.to_plain()));
                    }
                }
                Block::Code { code } => {
                    out.push_str(code);
                    out.push('\n');
                }
                Block::Divider => out.push_str("---\n"),
            }
        }
        out.trim_end().to_string()
    }
}
