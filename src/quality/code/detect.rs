//! Which programming language a piece of code is written in, and unwrapping of markdown fences.
//!
//! The rule, first match wins:
//! 1. an explicit declaration: the file extension (`score_path`) or the info string of a fenced
//!    block (```` ```python ````) for inline code;
//! 2. a shebang line (`#!/usr/bin/env python3`, `#!/bin/sh`, `#!/usr/bin/node`, ...);
//! 3. content heuristics: each language has distinctive patterns with weights (e.g.
//!    `System.out.print` 5 for Java, `if __name__ ==` 4 for Python); every pattern present adds its
//!    weight once. The best total wins when it reaches [`MIN_CONTENT_WEIGHT`]; a tie between
//!    languages that have a grammar is broken by parsing with each and keeping the grammar that
//!    leaves the fewest bytes in error nodes.
//!
//! Anything else is "not recognised" (scored on language-independent signals only).

use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// A total below this is too little evidence to name a language from content alone.
pub const MIN_CONTENT_WEIGHT: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Python,
    Rust,
    JavaScript,
    C,
    Java,
    Go,
    Bash,
    TypeScript,
    Cpp,
    Ruby,
    Php,
    CSharp,
    Kotlin,
    Swift,
    Scala,
    Lua,
    R,
    Sql,
}

/// How the language was decided (reported in the score's details as a number, see `code` mod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectedBy {
    Extension,
    FenceTag,
    Shebang,
    Content,
}

impl Language {
    pub const ALL: [Language; 18] = [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::C,
        Language::Java,
        Language::Go,
        Language::Bash,
        Language::TypeScript,
        Language::Cpp,
        Language::Ruby,
        Language::Php,
        Language::CSharp,
        Language::Kotlin,
        Language::Swift,
        Language::Scala,
        Language::Lua,
        Language::R,
        Language::Sql,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
            Language::C => "c",
            Language::Java => "java",
            Language::Go => "go",
            Language::Bash => "bash",
            Language::TypeScript => "typescript",
            Language::Cpp => "cpp",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::CSharp => "csharp",
            Language::Kotlin => "kotlin",
            Language::Swift => "swift",
            Language::Scala => "scala",
            Language::Lua => "lua",
            Language::R => "r",
            Language::Sql => "sql",
        }
    }

    /// The tree-sitter grammar compiled into omniscore, if there is one.
    pub fn grammar(self) -> Option<tree_sitter::Language> {
        let f = match self {
            Language::Python => tree_sitter_python::LANGUAGE,
            Language::Rust => tree_sitter_rust::LANGUAGE,
            Language::JavaScript => tree_sitter_javascript::LANGUAGE,
            Language::C => tree_sitter_c::LANGUAGE,
            Language::Java => tree_sitter_java::LANGUAGE,
            Language::Go => tree_sitter_go::LANGUAGE,
            Language::Bash => tree_sitter_bash::LANGUAGE,
            _ => return None,
        };
        Some(f.into())
    }

    /// Line-comment markers, for languages scored without a grammar.
    pub fn line_comments(self) -> &'static [&'static str] {
        match self {
            Language::Python | Language::Bash | Language::Ruby | Language::R => &["#"],
            Language::Php => &["//", "#"],
            Language::Lua | Language::Sql => &["--"],
            _ => &["//"],
        }
    }

    /// Whether `/* ... */` comments exist.
    pub fn block_comments(self) -> bool {
        !matches!(self, Language::Python | Language::Bash | Language::Ruby | Language::R | Language::Lua)
    }

    /// From a file extension (lower case, no dot) or a fence info string; None when it names no
    /// language we know.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let tag = tag.trim().to_ascii_lowercase();
        Some(match tag.as_str() {
            "py" | "pyw" | "pyi" | "python" | "python3" | "py3" => Language::Python,
            "rs" | "rust" => Language::Rust,
            "js" | "mjs" | "cjs" | "jsx" | "javascript" | "node" | "nodejs" => Language::JavaScript,
            "c" | "h" => Language::C,
            "java" => Language::Java,
            "go" | "golang" => Language::Go,
            "sh" | "bash" | "shell" | "zsh" | "ksh" | "shellscript" => Language::Bash,
            "ts" | "tsx" | "mts" | "typescript" => Language::TypeScript,
            "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" | "c++" => Language::Cpp,
            "rb" | "ruby" => Language::Ruby,
            "php" => Language::Php,
            "cs" | "csharp" | "c#" => Language::CSharp,
            "kt" | "kts" | "kotlin" => Language::Kotlin,
            "swift" => Language::Swift,
            "scala" | "sc" => Language::Scala,
            "lua" => Language::Lua,
            "r" => Language::R,
            "sql" | "mysql" | "postgresql" | "sqlite" => Language::Sql,
            _ => return None,
        })
    }
}

/// The interpreter a shebang names, if the first line is one.
pub fn from_shebang(code: &str) -> Option<Language> {
    let first = code.trim_start_matches('\u{feff}').lines().next()?;
    let rest = first.strip_prefix("#!")?;
    // `#!/usr/bin/env -S python3 -u` names the interpreter after env and its flags.
    let interpreter = rest
        .split_whitespace()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .find(|w| *w != "env" && !w.starts_with('-'))?;
    let base = interpreter.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match base {
        "python" | "pypy" => Language::Python,
        "sh" | "bash" | "zsh" | "ksh" | "dash" | "ash" => Language::Bash,
        "node" | "nodejs" | "deno" | "bun" => Language::JavaScript,
        "ruby" => Language::Ruby,
        "php" => Language::Php,
        "lua" => Language::Lua,
        "Rscript" => Language::R,
        _ => return None,
    })
}

/// (language, pattern, weight): distinctive constructs. A pattern counts once however often it
/// occurs, so one repeated idiom cannot outvote several different ones.
const PATTERNS: &[(Language, &str, u32)] = &[
    (Language::Python, r"(?m)^\s*def \w+\s*\(.*\)\s*(->\s*[^:]+)?:\s*(#.*)?$", 3),
    (Language::Python, r"(?m)^\s*class \w+(\([^)]*\))?:\s*$", 3),
    (Language::Python, r"(?m)^\s*(from [\w.]+ import \w|import \w+(\.\w+)*(\s+as \w+)?\s*$)", 2),
    (Language::Python, r#"if __name__ == ['"]__main__['"]"#, 4),
    (Language::Python, r"(?m)^\s*(elif .*:|except\b.*:|with .* as \w+:)", 3),
    (Language::Python, r"\bself\.\w+", 1),
    (Language::Python, r"\b(None|True|False)\b", 1),
    (Language::Rust, r"\bfn \w+\s*(<[^>]*>)?\s*\(", 3),
    (Language::Rust, r"\blet mut \w+", 3),
    (Language::Rust, r"\bimpl\b.*\{", 3),
    (Language::Rust, r"#\[derive\(", 4),
    (Language::Rust, r"\b(println|format|vec|assert_eq|assert|panic)!\(", 3),
    (Language::Rust, r"(?m)^\s*use \w+(::\w+)+", 3),
    (Language::Rust, r"&mut \w+|&self\b", 3),
    (Language::Rust, r"->\s*(Self|Result|Option|Vec|String|u\d+|i\d+|f64|usize|bool)\b", 2),
    (Language::JavaScript, r"\bfunction\s*\w*\s*\(", 2),
    (Language::JavaScript, r"\bconsole\.(log|error|warn)\(", 4),
    (Language::JavaScript, r"\b(const|let|var) \w+\s*=", 1),
    (Language::JavaScript, r"=>\s*[{(\w]", 1),
    (Language::JavaScript, r#"\brequire\(['"]"#, 3),
    (Language::JavaScript, r"module\.exports|(?m)^export (default|const|function|class)", 3),
    (Language::JavaScript, r"===|!==", 2),
    (Language::JavaScript, r"\b(document|window)\.\w+", 2),
    (Language::TypeScript, r"(?m)^\s*(export )?(interface|type) \w+\s*(=|\{|<)", 3),
    (Language::TypeScript, r"\w\??:\s*(string|number|boolean|any|void|unknown)\b", 3),
    (Language::C, r#"(?m)^\s*#include\s*[<"]"#, 3),
    (Language::C, r"\bint main\s*\(", 2),
    (Language::C, r"\b(printf|scanf|malloc|free|fprintf|memcpy|strlen)\s*\(", 2),
    (Language::C, r"\bNULL\b", 1),
    (Language::C, r"(?m)^\s*(static |extern )?(void|int|char|float|double|long|unsigned|size_t)\s+\**\w+\s*\(", 2),
    (Language::C, r"\bstruct \w+\s*\{|\btypedef\b", 1),
    (Language::Cpp, r"\bstd::", 4),
    (Language::Cpp, r"#include\s*<(iostream|vector|string|map|memory|algorithm|unordered_map)>", 4),
    (Language::Cpp, r"\bcout\s*<<|\bcin\s*>>", 4),
    (Language::Cpp, r"\btemplate\s*<", 3),
    (Language::Cpp, r"(?m)^\s*(public|private|protected):", 3),
    (Language::Java, r"\b(public|private|protected)\s+(static\s+)?(final\s+)?(class|interface|enum|void|int|String|boolean)\b", 3),
    (Language::Java, r"public static void main\s*\(\s*String", 5),
    (Language::Java, r"System\.(out|err)\.print", 5),
    (Language::Java, r"(?m)^\s*(import java\.|package [\w.]+;)", 4),
    (Language::Java, r"@Override", 3),
    (Language::Java, r"\bString\[\]", 2),
    (Language::Go, r"(?m)^package \w+\s*$", 4),
    (Language::Go, r"\bfunc (\(\w+ \*?\w+\) )?\w+\(", 4),
    (Language::Go, r":=", 2),
    (Language::Go, r"\bfmt\.(Print|Sprint|Errorf|Fprint)", 4),
    (Language::Go, r"(?m)^import \($", 3),
    (Language::Go, r"\berr != nil\b", 4),
    (Language::Bash, r"(?m)^\s*(fi|done|esac)\s*$", 3),
    (Language::Bash, r"(?m)^\s*(if|while|until|elif) \[\[? .*\]\]?", 3),
    (Language::Bash, r"(?m)^\s*echo\b", 2),
    (Language::Bash, r"\$\{\w+[^}]*\}|\$\(\w", 2),
    (Language::Bash, r"(?m)^\s*(export|local|readonly|declare) \w+=", 3),
    (Language::Bash, r"(?m)^\s*(function )?\w+\(\)\s*\{", 2),
    (Language::Bash, r"(?m)\bthen\s*$|;\s*then\b|;\s*do\b", 2),
    (Language::Ruby, r"(?m)^\s*end\s*$", 2),
    (Language::Ruby, r"(?m)^\s*def \w+[?!]?(\(.*\))?\s*$", 3),
    (Language::Ruby, r"\bputs\b", 3),
    (Language::Ruby, r"\.each\s+do\s*\|", 4),
    (Language::Ruby, r#"(?m)^\s*require ['"]"#, 3),
    (Language::Ruby, r"\battr_(accessor|reader|writer)\b", 4),
    (Language::Php, r"<\?php", 6),
    (Language::Php, r"\$\w+\s*=\s", 1),
    (Language::Php, r"\becho\s+\$", 2),
    (Language::CSharp, r"\busing System", 5),
    (Language::CSharp, r"Console\.Write(Line)?\(", 5),
    (Language::CSharp, r"\{\s*get;\s*set;\s*\}", 4),
    (Language::Kotlin, r"\bfun \w+\(", 3),
    (Language::Kotlin, r"(?m)^\s*val \w+", 2),
    (Language::Swift, r"import (Foundation|UIKit|SwiftUI)", 5),
    (Language::Swift, r"\bguard let\b", 3),
    (Language::Scala, r"\bobject \w+ (extends|\{)", 3),
    (Language::Scala, r"\bdef \w+\(.*\)\s*:\s*\w+\s*=", 4),
    (Language::Scala, r"(?m)^\s*case class", 4),
    (Language::Lua, r"(?m)^\s*local (function )?\w+", 3),
    (Language::Lua, r"~=", 2),
    (Language::Lua, r#"\.\.\s*['"]"#, 1),
    (Language::R, r"\w\s*<-\s*\w", 2),
    (Language::R, r"\blibrary\(\w+\)", 4),
    (Language::R, r"data\.frame\(", 3),
    (Language::Sql, r"(?is)\bSELECT\b.*\bFROM\b", 4),
    (Language::Sql, r"(?i)\b(CREATE TABLE|INSERT INTO|UPDATE \w+ SET)\b", 4),
];

static COMPILED: LazyLock<Vec<(Language, Regex, u32)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|(l, p, w)| (*l, Regex::new(p).unwrap_or_else(|e| panic!("bad built-in pattern {p}: {e}")), *w))
        .collect()
});

/// Content-heuristic totals per language, highest first (only languages with some evidence).
pub fn content_weights(code: &str) -> Vec<(Language, u32)> {
    let mut totals: Vec<(Language, u32)> = Vec::new();
    for (lang, re, w) in COMPILED.iter() {
        if re.is_match(code) {
            match totals.iter_mut().find(|(l, _)| l == lang) {
                Some((_, t)) => *t += w,
                None => totals.push((*lang, *w)),
            }
        }
    }
    // TypeScript is JavaScript plus types: JavaScript's evidence counts for it too once a
    // TypeScript-only construct is present (C++ likewise extends C).
    for (sup, sub) in [(Language::TypeScript, Language::JavaScript), (Language::Cpp, Language::C)] {
        let sub_w = totals.iter().find(|(l, _)| *l == sub).map_or(0, |t| t.1);
        if let Some((_, w)) = totals.iter_mut().find(|(l, _)| *l == sup) {
            *w += sub_w;
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals
}

/// The language of `code` from its content alone (rule steps 2 and 3).
pub fn detect_content(code: &str) -> Option<(Language, DetectedBy)> {
    if let Some(lang) = from_shebang(code) {
        return Some((lang, DetectedBy::Shebang));
    }
    let weights = content_weights(code);
    let &(_, best) = weights.first()?;
    if best < MIN_CONTENT_WEIGHT {
        return None;
    }
    let tied: Vec<Language> = weights.iter().take_while(|(_, w)| *w == best).map(|(l, _)| *l).collect();
    let with_grammar: Vec<Language> = tied.iter().copied().filter(|l| l.grammar().is_some()).collect();
    let pick = if tied.len() > 1 && with_grammar.len() > 1 {
        with_grammar
            .iter()
            .copied()
            .min_by_key(|l| super::analyze::error_bytes(code, *l).unwrap_or(usize::MAX))
            .unwrap_or(tied[0])
    } else {
        tied[0]
    };
    Some((pick, DetectedBy::Content))
}

/// The language of a file: its extension, else its content.
pub fn detect_path(path: &Path, code: &str) -> Option<(Language, DetectedBy)> {
    if let Some(lang) = Language::from_tag(&crate::media::extension(path)) {
        return Some((lang, DetectedBy::Extension));
    }
    detect_content(code)
}

/// One fenced block of a markdown-ish response.
#[derive(Debug, Clone, PartialEq)]
pub struct Fenced {
    /// The info string's first word ("" when there is none).
    pub tag: String,
    pub code: String,
    /// The closing fence was missing (a truncated response).
    pub unclosed: bool,
}

/// The fenced blocks (```` ``` ```` or `~~~`, three or more) in `text`; empty when there are none.
/// Prose outside the fences is dropped: it is the answer's explanation, not its code.
pub fn fenced_blocks(text: &str) -> Vec<Fenced> {
    let mut out = Vec::new();
    let mut open: Option<(String, String, Fenced)> = None; // (fence char run, indent, block)
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent_len = line.len() - trimmed.len();
        match &mut open {
            None => {
                if indent_len <= 3 {
                    if let Some(fence) = fence_run(trimmed) {
                        let tag = trimmed[fence.len()..].split_whitespace().next().unwrap_or("");
                        let tag = tag.trim_matches(|c| c == '{' || c == '}' || c == '.').to_string();
                        let block = Fenced { tag, code: String::new(), unclosed: false };
                        open = Some((fence, line[..indent_len].to_string(), block));
                    }
                }
            }
            Some((fence, indent, block)) => {
                let closes = fence_run(trimmed)
                    .map(|f| f.starts_with(&fence[..1]) && f.len() >= fence.len() && trimmed[f.len()..].trim().is_empty())
                    .unwrap_or(false);
                if closes {
                    let (_, _, block) = open.take().expect("open fence");
                    out.push(block);
                } else {
                    // Content indented like its fence loses that indentation (CommonMark).
                    block.code.push_str(line.strip_prefix(indent.as_str()).unwrap_or(line));
                }
            }
        }
    }
    if let Some((_, _, mut block)) = open {
        block.unclosed = true;
        out.push(block);
    }
    out
}

/// The run of three or more backticks or tildes opening `line`, if any.
fn fence_run(line: &str) -> Option<String> {
    let first = line.chars().next()?;
    if first != '`' && first != '~' {
        return None;
    }
    let run: String = line.chars().take_while(|c| *c == first).collect();
    (run.len() >= 3).then_some(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_name_their_interpreter() {
        assert_eq!(from_shebang("#!/usr/bin/env python3\nprint(1)"), Some(Language::Python));
        assert_eq!(from_shebang("#!/bin/sh\necho hi"), Some(Language::Bash));
        assert_eq!(from_shebang("#!/usr/bin/env -S node --harmony\n"), Some(Language::JavaScript));
        assert_eq!(from_shebang("#!/usr/bin/perl\n"), None);
        assert_eq!(from_shebang("print(1)"), None);
    }

    #[test]
    fn fences_are_unwrapped_with_their_tags() {
        let text = "Here:\n```python\ndef f():\n    return 1\n```\nand\n~~~ js\nlet x = 1;\n~~~\n";
        let blocks = fenced_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].tag, "python");
        assert_eq!(blocks[0].code, "def f():\n    return 1\n");
        assert_eq!(blocks[1].tag, "js");
        assert!(!blocks[1].unclosed);
        let cut = fenced_blocks("```rust\nfn main() {\n");
        assert!(cut[0].unclosed);
        assert!(fenced_blocks("no fences here").is_empty());
    }

    #[test]
    fn content_without_evidence_names_nothing() {
        assert_eq!(detect_content("hello world"), None);
        assert_eq!(detect_content("x"), None);
    }
}
