//! The measurements behind the code score: syntax (tree-sitter error regions, or bracket balance
//! for languages without a grammar) and language-independent structure signals.

use super::detect::Language;
use tree_sitter::{Node, Parser, Tree};

/// Lines longer than this (in characters) count as "very long": minified or generated blobs.
pub const LONG_LINE_CHARS: usize = 120;

/// Named nodes that define something (functions, methods, classes, types) in the seven grammars.
const DEFINITION_KINDS: &[&str] = &[
    "function_definition",
    "class_definition",
    "function_item",
    "impl_item",
    "struct_item",
    "enum_item",
    "trait_item",
    "mod_item",
    "macro_definition",
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "method_definition",
    "method_declaration",
    "constructor_declaration",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
    "type_declaration",
    "arrow_function",
    "function_expression",
];

/// Nodes that open a nesting level (a body or block) in the seven grammars.
const BLOCK_KINDS: &[&str] = &[
    "block",
    "statement_block",
    "compound_statement",
    "do_group",
    "class_body",
    "declaration_list",
    "match_block",
    "switch_block",
    "switch_body",
    "constructor_body",
    "enum_body",
    "interface_body",
    "field_declaration_list",
];

const COMMENT_KINDS: &[&str] = &["comment", "line_comment", "block_comment", "html_comment"];

/// Everything measured on one piece of code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Whether a tree-sitter grammar parsed it (else the syntax fields below are bracket-based).
    pub parsed: bool,
    /// Non-whitespace bytes in the source.
    pub code_bytes: usize,
    /// Non-whitespace bytes of the tokens inside ERROR nodes that belong to no complete construct,
    /// plus those on a line holding a MISSING node.
    pub error_bytes: usize,
    /// ERROR nodes, nested ones included.
    pub error_nodes: usize,
    /// Places where the parse failed: runs of error bytes separated by valid code (at least 1
    /// when there is any ERROR or MISSING node).
    pub error_sites: usize,
    /// MISSING nodes (tokens the parser had to invent, e.g. a closing bracket).
    pub missing_nodes: usize,
    /// Brackets without a partner, ignoring strings and comments (no-grammar languages only).
    pub unmatched_brackets: usize,
    pub definitions: usize,
    /// Non-whitespace bytes inside comments.
    pub comment_bytes: usize,
    pub max_nesting: usize,
    pub lines: usize,
    pub nonblank_lines: usize,
    pub long_lines: usize,
}

impl Analysis {
    /// Share of non-whitespace source bytes outside error regions (1 for empty code).
    pub fn valid_share(&self) -> f64 {
        if self.code_bytes == 0 {
            return 1.0;
        }
        1.0 - self.error_bytes as f64 / self.code_bytes as f64
    }

    pub fn syntax_errors(&self) -> usize {
        self.error_sites
    }

    pub fn comment_ratio(&self) -> f64 {
        if self.code_bytes == 0 {
            return 0.0;
        }
        self.comment_bytes as f64 / self.code_bytes as f64
    }

    pub fn long_line_share(&self) -> f64 {
        if self.nonblank_lines == 0 {
            return 0.0;
        }
        self.long_lines as f64 / self.nonblank_lines as f64
    }
}

/// Measures `code` written in `lang` (None: not recognised).
pub fn analyze(code: &str, lang: Option<Language>) -> Analysis {
    let mut a = line_stats(code);
    let grammar_tree = lang.and_then(|l| parse(code, l).map(|t| (l, t)));
    match grammar_tree {
        Some((_, tree)) => {
            a.parsed = true;
            walk_tree(code, &tree, &mut a);
        }
        None => {
            let lang_comments = lang.map(|l| (l.line_comments(), l.block_comments()));
            // Unknown languages: the commonest markers, `//` and `#`, with C block comments.
            let (line, block) = lang_comments.unwrap_or((&["//", "#"], true));
            let scan = scan_brackets(code, line, block);
            a.unmatched_brackets = scan.unmatched;
            a.comment_bytes = scan.comment_bytes;
            a.max_nesting = scan.max_depth.max(indent_levels(code));
            a.definitions = count_definitions_by_text(code);
        }
    }
    a
}

/// Non-whitespace bytes in error regions when `code` is parsed as `lang` (None without a grammar).
pub fn error_bytes(code: &str, lang: Language) -> Option<usize> {
    let tree = parse(code, lang)?;
    let mut a = line_stats(code);
    walk_tree(code, &tree, &mut a);
    Some(a.error_bytes)
}

fn parse(code: &str, lang: Language) -> Option<Tree> {
    let grammar = lang.grammar()?;
    let mut parser = Parser::new();
    // A version mismatch between the runtime and a grammar is a build problem, not bad input:
    // fall back to the grammar-free signals rather than failing the item.
    parser.set_language(&grammar).ok()?;
    parser.parse(code, None)
}

fn line_stats(code: &str) -> Analysis {
    let mut a = Analysis::default();
    for line in code.lines() {
        a.lines += 1;
        if !line.trim().is_empty() {
            a.nonblank_lines += 1;
            if line.chars().count() > LONG_LINE_CHARS {
                a.long_lines += 1;
            }
        }
    }
    a.code_bytes = code.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    a
}

/// Walks the tree without recursion (generated code can nest deeply enough to overflow a stack).
fn walk_tree(code: &str, tree: &Tree, a: &mut Analysis) {
    let bytes = code.as_bytes();
    // prefix[i] = non-whitespace bytes in code[..i], so any range counts in O(1).
    let mut prefix = Vec::with_capacity(bytes.len() + 1);
    prefix.push(0usize);
    for b in bytes {
        prefix.push(prefix.last().copied().unwrap_or(0) + usize::from(!b.is_ascii_whitespace()));
    }
    let mut errors: Vec<(usize, usize)> = Vec::new();
    let mut comments: Vec<(usize, usize)> = Vec::new();
    let mut cursor = tree.walk();
    // Block depth of the parent of the node under the cursor, one entry per tree level.
    let mut depth_stack: Vec<usize> = vec![0];
    // Tree levels of the outermost ERROR node the cursor is inside, and of the outermost complete
    // construct inside that ERROR node.
    let mut error_root: Option<usize> = None;
    let mut valid_root: Option<usize> = None;
    loop {
        let node: Node = cursor.node();
        let kind = node.kind();
        let is_block = node.is_named() && BLOCK_KINDS.contains(&kind);
        let depth = depth_stack.last().copied().unwrap_or(0) + usize::from(is_block);
        a.max_nesting = a.max_nesting.max(depth);
        let level = depth_stack.len();
        if error_root.is_some_and(|r| level <= r) {
            error_root = None;
        }
        if valid_root.is_some_and(|r| level <= r) {
            valid_root = None;
        }
        // A complete construct the parser recognised inside an error region is valid code
        // (tree-sitter often wraps a whole file in one ERROR for a single missing colon); only
        // the tokens it could fit nowhere are erroneous.
        if error_root.is_some() && valid_root.is_none() && node.is_named() && !node.has_error() && !node.is_missing() {
            valid_root = Some(level);
        }
        let mut descend = true;
        let leaf = node.child_count() == 0;
        if node.is_error() {
            a.error_nodes += 1;
            error_root.get_or_insert(level);
            if leaf {
                errors.push((node.start_byte(), node.end_byte()));
            }
        } else if error_root.is_some() && valid_root.is_none() && leaf && !node.is_missing() {
            errors.push((node.start_byte(), node.end_byte()));
        } else if node.is_missing() {
            a.missing_nodes += 1;
            // A missing token has no width; the line it belongs to is what it breaks.
            errors.push(line_around(bytes, node.start_byte()));
            descend = false;
        } else if COMMENT_KINDS.contains(&kind) {
            comments.push((node.start_byte(), node.end_byte()));
            descend = false;
        } else if node.is_named() && DEFINITION_KINDS.contains(&kind) {
            a.definitions += 1;
        }
        if descend && cursor.goto_first_child() {
            depth_stack.push(depth);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                let (bytes, runs) = covered(&mut errors, &prefix);
                a.error_bytes = bytes;
                a.error_sites = if a.error_nodes + a.missing_nodes > 0 { runs.max(1) } else { 0 };
                a.comment_bytes = covered(&mut comments, &prefix).0;
                return;
            }
            depth_stack.pop();
        }
    }
}

/// The byte range of the line holding byte `at`.
fn line_around(bytes: &[u8], at: usize) -> (usize, usize) {
    let at = at.min(bytes.len());
    let start = bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let end = bytes[at..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |p| at + p);
    (start, end)
}

/// Non-whitespace bytes covered by the union of `ranges`, and the number of runs in that union
/// (ranges separated only by whitespace are one run).
fn covered(ranges: &mut [(usize, usize)], prefix: &[usize]) -> (usize, usize) {
    ranges.sort_unstable();
    let n = prefix.len() - 1;
    let (mut total, mut runs) = (0, 0);
    let mut cur: Option<(usize, usize)> = None;
    for &(s, e) in ranges.iter() {
        let (s, e) = (s.min(n), e.min(n));
        match cur {
            Some((cs, ce)) if s <= ce || prefix[s] == prefix[ce] => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += prefix[ce] - prefix[cs];
                runs += 1;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += prefix[ce] - prefix[cs];
        runs += 1;
    }
    (total, runs)
}

#[derive(Debug, Default)]
struct BracketScan {
    unmatched: usize,
    max_depth: usize,
    comment_bytes: usize,
}

/// Bracket balance of `()[]{}` outside strings and comments: the number of brackets without a
/// partner, so one stray bracket costs one, not everything after it.
fn scan_brackets(code: &str, line_comments: &[&str], block_comments: bool) -> BracketScan {
    let mut scan = BracketScan::default();
    let mut stack: Vec<char> = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let starts_with = |i: usize, pat: &str| pat.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if block_comments && starts_with(i, "/*") {
            let start = i;
            i += 2;
            while i < chars.len() && !starts_with(i, "*/") {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            scan.comment_bytes += chars[start..i].iter().filter(|c| !c.is_whitespace()).count();
            continue;
        }
        if line_comments.iter().any(|m| starts_with(i, m)) {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            scan.comment_bytes += chars[start..i].iter().filter(|c| !c.is_whitespace()).count();
            continue;
        }
        match c {
            '"' | '\'' | '`' => {
                // A string ends at its quote or, for the two ordinary quotes, at the end of the
                // line: an unterminated literal must not swallow the rest of the file.
                i += 1;
                while i < chars.len() && chars[i] != c && (c == '`' || chars[i] != '\n') {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '(' | '[' | '{' => {
                stack.push(c);
                scan.max_depth = scan.max_depth.max(stack.iter().filter(|b| **b == '{').count());
            }
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                // Recover like a parser: a closer whose opener is deeper closes it and the
                // openers above it (each unmatched); a closer with no opener stands alone.
                match stack.iter().rposition(|b| *b == want) {
                    Some(at) => {
                        scan.unmatched += stack.len() - at - 1;
                        stack.truncate(at);
                    }
                    None => scan.unmatched += 1,
                }
            }
            _ => {}
        }
        i += 1;
    }
    scan.unmatched += stack.len();
    scan
}

/// Deepest indentation in units of the smallest indentation step used (tabs count one level).
fn indent_levels(code: &str) -> usize {
    let widths: Vec<usize> = code
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').map(|c| if c == '\t' { 4 } else { 1 }).sum())
        .collect();
    let step = widths.iter().copied().filter(|w| *w > 0).min().unwrap_or(0);
    if step == 0 {
        return 0;
    }
    widths.iter().max().copied().unwrap_or(0) / step
}

/// Definitions in languages without a grammar: `def/fn/func/function/fun name(`, `class Name`,
/// and C-like `type name(...) {` headers.
fn count_definitions_by_text(code: &str) -> usize {
    use regex::Regex;
    use std::sync::LazyLock;
    static DEF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?m)(\b(def|fn|func|function|fun|sub|proc)\s+[\w.:]+\s*[(<]|\b(class|interface|struct|object|module)\s+\w+|^\s*[\w<>\[\]*&:,]+\s+\w+\s*\([^;{}]*\)\s*\{)",
        )
        .expect("definition pattern")
    });
    DEF.find_iter(code).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_python_has_no_error_region() {
        let a = analyze("def f(x):\n    # double it\n    return 2 * x\n", Some(Language::Python));
        assert!(a.parsed);
        assert_eq!(a.syntax_errors(), 0, "{a:?}");
        assert_eq!(a.valid_share(), 1.0);
        assert_eq!(a.definitions, 1);
        assert!(a.comment_bytes > 0);
        assert_eq!(a.max_nesting, 1);
    }

    #[test]
    fn a_missing_bracket_leaves_an_error_region() {
        let a = analyze("fn main() {\n    let x = (1 + 2;\n    println!(\"{}\", x);\n}\n", Some(Language::Rust));
        assert!(a.syntax_errors() > 0, "{a:?}");
        assert!(a.valid_share() < 1.0, "{a:?}");
    }

    #[test]
    fn brackets_are_balanced_outside_strings_and_comments() {
        let ok = scan_brackets("if (a) { x = \"(\"; } // )\n/* { */", &["//"], true);
        assert_eq!(ok.unmatched, 0);
        assert_eq!(ok.max_depth, 1);
        let bad = scan_brackets("if (a { x = [1, 2); }", &["//"], true);
        assert_eq!(bad.unmatched, 3, "{bad:?}");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_walk() {
        let code = format!("int main() {}{}\n", "{".repeat(20_000), "}".repeat(20_000));
        let a = analyze(&code, Some(Language::C));
        assert!(a.max_nesting > 1000, "{}", a.max_nesting);
    }
}
