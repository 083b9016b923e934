//! A model's chat template, rendered the way Hugging Face `apply_chat_template` does: Jinja with
//! `trim_blocks` and `lstrip_blocks`, Python string methods (`.strip()`, `.startswith()`, ...),
//! `raise_exception(msg)`, and the variables `messages`, `add_generation_prompt`, `bos_token`,
//! `eos_token`. The template comes from the GGUF metadata (`tokenizer.chat_template`), from
//! `tokenizer_config.json` (`chat_template`, or a `chat_template.jinja` beside it), or ChatML.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value as GgufValue};
use minijinja::{Environment, Error as JinjaError, ErrorKind};
use serde::Serialize;

const TEMPLATE_NAME: &str = "chat_template";
const KEY_GGUF_TEMPLATE: &str = "tokenizer.chat_template";
const KEY_GGUF_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_GGUF_BOS: &str = "tokenizer.ggml.bos_token_id";
const KEY_GGUF_EOS: &str = "tokenizer.ggml.eos_token_id";
/// Newer Hugging Face checkpoints keep the template in its own file beside tokenizer_config.json.
const JINJA_FILE: &str = "chat_template.jinja";

/// ChatML, used by SmolLM2 and Qwen; the fallback when a model ships no template.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + \
message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ \
'<|im_start|>assistant\\n' }}{% endif %}";

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("chat template ({origin}) does not parse: {message}")]
    Syntax { origin: String, message: String },
    #[error("chat template ({origin}) refused the conversation: {message}")]
    Raised { origin: String, message: String },
    #[error("chat template ({origin}) failed to render: {message}")]
    Render { origin: String, message: String },
    #[error("cannot read {path}: {message}")]
    Config { path: PathBuf, message: String },
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template with the special-token strings it may refer to.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Set when the source failed to compile; reported by every `render`.
    syntax_error: Option<String>,
    source: String,
    origin: String,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("origin", &self.origin)
            .field("source", &self.source)
            .finish()
    }
}

impl ChatTemplate {
    /// Compiles `source`; `origin` names where it came from in error messages.
    pub fn from_source(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
        origin: impl Into<String>,
    ) -> Result<Self, ChatError> {
        let template = Self::build(
            source.into(),
            bos_token.into(),
            eos_token.into(),
            origin.into(),
        );
        match &template.syntax_error {
            Some(message) => Err(ChatError::Syntax {
                origin: template.origin.clone(),
                message: message.clone(),
            }),
            None => Ok(template),
        }
    }

    /// The template in a GGUF file's metadata, if it has one. A template that does not parse
    /// is still returned: `render` reports the syntax error.
    pub fn from_gguf(content: &Content) -> Option<Self> {
        let meta = &content.metadata;
        let source = match meta.get(KEY_GGUF_TEMPLATE)? {
            GgufValue::String(s) => s.clone(),
            _ => return None,
        };
        let token = |key: &str| -> String {
            let id = meta.get(key).and_then(|v| v.to_u64().ok());
            let tokens = meta.get(KEY_GGUF_TOKENS).and_then(|v| v.to_vec().ok());
            match (id, tokens) {
                (Some(id), Some(tokens)) => tokens
                    .get(id as usize)
                    .and_then(|t| t.to_string().ok())
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            }
        };
        Some(Self::build(
            source,
            token(KEY_GGUF_BOS),
            token(KEY_GGUF_EOS),
            "GGUF metadata".to_string(),
        ))
    }

    /// The template of a Hugging Face `tokenizer_config.json` (field `chat_template`, a string
    /// or a list of named templates of which `default` is used), or of `chat_template.jinja` in
    /// the same folder; `Ok(None)` when there is neither.
    pub fn from_tokenizer_config(path: &Path) -> Result<Option<Self>, ChatError> {
        let config_error = |message: String| ChatError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| config_error(e.to_string()))?;
        let special = |field: &str| -> String {
            match config.get(field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Object(o)) => o
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
                _ => String::new(),
            }
        };
        let source = match config.get("chat_template") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(named)) => {
                let pick = named
                    .iter()
                    .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                    .or_else(|| named.first());
                match pick
                    .and_then(|t| t.get("template"))
                    .and_then(|t| t.as_str())
                {
                    Some(s) => Some(s.to_string()),
                    None => {
                        return Err(config_error(
                            "`chat_template` list has no usable template".into(),
                        ))
                    }
                }
            }
            Some(other) => {
                return Err(config_error(format!(
                    "`chat_template` is {other}, not a string"
                )))
            }
            None => {
                let jinja = path.with_file_name(JINJA_FILE);
                match std::fs::read_to_string(&jinja) {
                    Ok(s) => Some(s),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        return Err(ChatError::Config {
                            path: jinja,
                            message: e.to_string(),
                        })
                    }
                }
            }
        };
        let Some(source) = source else {
            return Ok(None);
        };
        Self::from_source(
            source,
            special("bos_token"),
            special("eos_token"),
            path.display().to_string(),
        )
        .map(Some)
    }

    /// Plain ChatML (`<|im_start|>role\n...<|im_end|>\n`), with no default system message.
    pub fn chatml() -> Self {
        Self::build(
            CHATML.to_string(),
            String::new(),
            "<|im_end|>".to_string(),
            "ChatML".to_string(),
        )
    }

    /// The conversation as the model saw such conversations in training; with
    /// `add_generation_prompt` it ends where the assistant's reply starts.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, ChatError> {
        if let Some(message) = &self.syntax_error {
            return Err(ChatError::Syntax {
                origin: self.origin.clone(),
                message: message.clone(),
            });
        }
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| self.render_error(e))?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| self.render_error(e))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    fn build(source: String, bos_token: String, eos_token: String, origin: String) -> Self {
        let mut env = Environment::new();
        // Hugging Face renders with these two on; without them templates leak indentation and newlines.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        minijinja_contrib::add_to_environment(&mut env);
        env.add_function("raise_exception", raise_exception);
        let syntax_error = env
            .add_template_owned(TEMPLATE_NAME, source.clone())
            .err()
            .map(|e| describe(&e));
        ChatTemplate {
            env,
            syntax_error,
            source,
            origin,
            bos_token,
            eos_token,
        }
    }

    fn render_error(&self, e: JinjaError) -> ChatError {
        let origin = self.origin.clone();
        match (e.kind(), e.detail()) {
            (ErrorKind::InvalidOperation, Some(d)) if d.starts_with(RAISED_PREFIX) => {
                ChatError::Raised {
                    origin,
                    message: d[RAISED_PREFIX.len()..].to_string(),
                }
            }
            _ => ChatError::Render {
                origin,
                message: describe(&e),
            },
        }
    }
}

const RAISED_PREFIX: &str = "raise_exception: ";

fn raise_exception(message: String) -> Result<String, JinjaError> {
    Err(JinjaError::new(
        ErrorKind::InvalidOperation,
        format!("{RAISED_PREFIX}{message}"),
    ))
}

/// The error with its location; minijinja keeps the line in the error, not in its `Display`.
fn describe(e: &JinjaError) -> String {
    match e.line() {
        Some(line) => format!("{e} (template line {line})"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_shape() {
        let t = ChatTemplate::chatml();
        let out = t
            .render(
                &[Message::new("system", "S"), Message::new("user", "U")],
                true,
            )
            .unwrap();
        assert_eq!(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
        let out = t.render(&[Message::new("user", "U")], false).unwrap();
        assert_eq!(out, "<|im_start|>user\nU<|im_end|>\n");
    }

    #[test]
    fn python_methods_raise_and_syntax_errors() {
        let src = "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}\
                   {{ raise_exception('roles must be user/assistant') }}{% endif %}\
                   {{ bos_token }}[{{ m.role.upper() }}] {{ m.content.strip() }}{{ eos_token }}{% endfor %}";
        let t = ChatTemplate::from_source(src, "<s>", "</s>", "test").unwrap();
        assert_eq!(
            t.render(&[Message::new("user", "  hi \n")], false).unwrap(),
            "<s>[USER] hi</s>"
        );
        let err = t.render(&[Message::new("system", "x")], false).unwrap_err();
        assert!(
            matches!(&err, ChatError::Raised { message, .. } if message == "roles must be user/assistant"),
            "{err}"
        );
        assert!(matches!(
            ChatTemplate::from_source("{% for %}", "", "", "bad"),
            Err(ChatError::Syntax { .. })
        ));
    }
}
