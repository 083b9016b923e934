//! The judge's text side with real files: the SmolLM2-135M-Instruct tokenizer rebuilt from its
//! GGUF metadata, its chat template, the Qwen2.5-Instruct template, and a tokenizer that does
//! not match its model. Real-weight tests are skipped, with the reason printed, when the model
//! store lacks the files (`omniscore models pull` fetches them).

mod common;
use common::model_dir;


use candle_core::quantized::gguf_file::{Content, Value};
use omniscore::judge::chat::{ChatError, ChatTemplate, Message};
use omniscore::judge::tokenizer::{
    check_tokenizer_matches, load_tokenizer, tokenizer_from_gguf, TokenizerError,
};

const SMOLLM_DIR: &str = "smollm2-135m-instruct";
const SMOLLM_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const SMOLLM_VOCAB: usize = 49152;
const MINILM_DIR: &str = "all-minilm-l6-v2";

/// Qwen2.5-Instruct's `chat_template` (tokenizer_config.json of Qwen/Qwen2.5-*-Instruct),
/// copied as a fixture; its tool-calling branch is kept so the whole template must parse.
const QWEN25_TEMPLATE: &str = r#"{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"#;

const QWEN_DEFAULT_SYSTEM: &str =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";


/// The SmolLM2 GGUF metadata, or `None` after printing why the test is skipped.
fn smollm_gguf(test: &str) -> Option<Content> {
    let path = model_dir(SMOLLM_DIR).join(SMOLLM_GGUF);
    if !path.exists() {
        eprintln!(
            "SKIPPED {test}: {} is absent (run `omniscore models pull` to fetch it)",
            path.display()
        );
        return None;
    }
    let mut file = std::fs::File::open(&path).expect("open GGUF");
    Some(Content::read(&mut file).expect("read GGUF metadata"))
}

fn msgs(turns: &[(&str, &str)]) -> Vec<Message> {
    turns.iter().map(|(r, c)| Message::new(*r, *c)).collect()
}

#[test]
fn smollm2_tokenizer_from_gguf_round_trips_special_tokens_and_digits() {
    let Some(content) =
        smollm_gguf("smollm2_tokenizer_from_gguf_round_trips_special_tokens_and_digits")
    else {
        return;
    };
    let tok = tokenizer_from_gguf(&content).expect("rebuild tokenizer");
    check_tokenizer_matches(&tok, SMOLLM_VOCAB).expect("vocabulary fits the model");

    let text = "<|im_start|>user\nHello, world! 12345<|im_end|>";
    let enc = tok.encode(text, false).unwrap();
    let ids = enc.get_ids();
    let im_start = tok.token_to_id("<|im_start|>").unwrap();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    assert_eq!(
        (im_start, im_end),
        (1, 2),
        "ids of the GGUF's control tokens"
    );
    assert_eq!(ids.first(), Some(&im_start), "{:?}", enc.get_tokens());
    assert_eq!(ids.last(), Some(&im_end), "{:?}", enc.get_tokens());
    assert_eq!(
        ids.iter()
            .filter(|&&i| i == im_start || i == im_end)
            .count(),
        2
    );

    let digit_ids: Vec<u32> = (1..=5)
        .map(|k| {
            tok.token_to_id(&k.to_string())
                .expect("digit in vocabulary")
        })
        .collect();
    let window = ids.windows(5).any(|w| w == digit_ids.as_slice());
    assert!(
        window,
        "digits 1..5 are not five single tokens in {:?}",
        enc.get_tokens()
    );
    assert_eq!(tok.decode(ids, false).unwrap(), text);

    // The judge reads its rating from exactly these ids.
    for (k, &id) in (1..=5).zip(&digit_ids) {
        let enc = tok.encode(k.to_string().as_str(), false).unwrap();
        assert_eq!(enc.get_ids(), &[id], "rating {k}");
    }

    // Ordinary text round-trips too (byte-level BPE is lossless), including non-ASCII.
    for s in [
        "  Leading spaces,\ttabs\nand newlines.",
        "naïve café — 東京 🙂",
        "x=3.14159; y = 2**10",
    ] {
        let enc = tok.encode(s, false).unwrap();
        assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), s);
    }
}

#[test]
fn smollm2_chat_template_from_gguf() {
    let Some(content) = smollm_gguf("smollm2_chat_template_from_gguf") else {
        return;
    };
    let template = ChatTemplate::from_gguf(&content).expect("SmolLM2 GGUF carries a chat template");
    assert_eq!(template.eos_token(), "<|im_end|>");

    let out = template
        .render(
            &msgs(&[("system", "Be brief."), ("user", "Rate this.")]),
            true,
        )
        .unwrap();
    assert_eq!(out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nRate this.<|im_end|>\n<|im_start|>assistant\n");

    // Without a system turn the template adds SmolLM's own.
    let out = template.render(&msgs(&[("user", "Hi")]), false).unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n"
    );

    // The rendered prompt tokenizes with its role markers as single control tokens.
    let tok = tokenizer_from_gguf(&content).unwrap();
    let enc = tok.encode(out.as_str(), false).unwrap();
    let markers = enc.get_ids().iter().filter(|&&i| i == 1 || i == 2).count();
    assert_eq!(markers, 4, "{:?}", enc.get_tokens());
}

#[test]
fn qwen25_chat_template() {
    let t = ChatTemplate::from_source(QWEN25_TEMPLATE, "", "<|im_end|>", "Qwen2.5 fixture")
        .expect("parses");
    let out = t.render(&msgs(&[("user", "What is 2+2?")]), true).unwrap();
    assert_eq!(
        out,
        format!(
            "<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        )
    );
    let out = t
        .render(
            &msgs(&[
                ("system", "Grade answers."),
                ("user", "Q"),
                ("assistant", "A"),
                ("user", "Again"),
            ]),
            false,
        )
        .unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nGrade answers.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n\
         <|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n"
    );
    let out = t
        .render(&msgs(&[("user", "call it"), ("tool", "42")]), false)
        .unwrap();
    assert!(
        out.ends_with("<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n"),
        "{out}"
    );
}

#[test]
fn chat_template_from_tokenizer_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer_config.json");
    let config = serde_json::json!({
        "bos_token": null,
        "eos_token": {"content": "<|im_end|>", "special": true},
        "chat_template": QWEN25_TEMPLATE,
    });
    std::fs::write(&path, config.to_string()).unwrap();
    let t = ChatTemplate::from_tokenizer_config(&path)
        .unwrap()
        .expect("has a template");
    assert_eq!(t.eos_token(), "<|im_end|>");
    assert!(t
        .render(&msgs(&[("user", "x")]), true)
        .unwrap()
        .starts_with("<|im_start|>system\nYou are Qwen"));

    // The list form keeps named templates; `default` is the chat one.
    let config = serde_json::json!({"chat_template": [
        {"name": "tool_use", "template": "TOOLS"},
        {"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"},
    ], "bos_token": "<s>"});
    std::fs::write(&path, config.to_string()).unwrap();
    let t = ChatTemplate::from_tokenizer_config(&path).unwrap().unwrap();
    assert_eq!(t.render(&msgs(&[("user", "x")]), false).unwrap(), "<s>x");

    // No field: the template file beside it, or none at all.
    std::fs::write(&path, "{}").unwrap();
    assert!(ChatTemplate::from_tokenizer_config(&path)
        .unwrap()
        .is_none());
    std::fs::write(
        dir.path().join("chat_template.jinja"),
        "{% for m in messages %}[{{ m.role }}]{% endfor %}",
    )
    .unwrap();
    let t = ChatTemplate::from_tokenizer_config(&path).unwrap().unwrap();
    assert_eq!(t.render(&msgs(&[("user", "x")]), false).unwrap(), "[user]");

    // Bad input: unreadable JSON, a template that does not parse.
    std::fs::write(&path, "{not json").unwrap();
    assert!(matches!(
        ChatTemplate::from_tokenizer_config(&path),
        Err(ChatError::Config { .. })
    ));
    std::fs::write(&path, r#"{"chat_template": "{% if %}"}"#).unwrap();
    let err = ChatTemplate::from_tokenizer_config(&path).unwrap_err();
    assert!(matches!(err, ChatError::Syntax { .. }), "{err}");
}

#[test]
fn a_tokenizer_that_does_not_match_is_refused() {
    let Some(content) = smollm_gguf("a_tokenizer_that_does_not_match_is_refused") else {
        return;
    };
    let smollm = tokenizer_from_gguf(&content).unwrap();

    let minilm_json = model_dir(MINILM_DIR).join("tokenizer.json");
    if !minilm_json.exists() {
        eprintln!(
            "SKIPPED a_tokenizer_that_does_not_match_is_refused: {} is absent",
            minilm_json.display()
        );
        return;
    }
    // MiniLM's WordPiece vocabulary (30,522) is not SmolLM2's, neither by size nor by content.
    let minilm = load_tokenizer(Some(&minilm_json), None).unwrap();
    let err = check_tokenizer_matches(&minilm, SMOLLM_VOCAB).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let err = check_tokenizer_matches(&smollm, 30522).unwrap_err();
    assert!(err.to_string().contains("49151"), "{err}");
    let err = load_tokenizer(Some(&minilm_json), Some(&content)).unwrap_err();
    assert!(matches!(err, TokenizerError::Mismatch(_)), "{err}");

    // Both sources, from the same model: the GGUF's own rebuild written out as tokenizer.json.
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("tokenizer.json");
    smollm.save(&own, false).unwrap();
    let loaded =
        load_tokenizer(Some(&own), Some(&content)).expect("a matching tokenizer.json is accepted");
    assert_eq!(loaded.get_vocab_size(true), smollm.get_vocab_size(true));

    // A SentencePiece GGUF cannot be rebuilt: the error names the tokenizer model.
    let mut content = content;
    content
        .metadata
        .insert("tokenizer.ggml.model".into(), Value::String("llama".into()));
    let err = tokenizer_from_gguf(&content).unwrap_err();
    assert!(err.to_string().contains("`llama` (SentencePiece"), "{err}");
    assert!(load_tokenizer(None, Some(&content)).is_err());
}
