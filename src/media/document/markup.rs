//! Markdown and HTML: structure from their markup, and HTML's visible text.

use super::structure::{plain_lines, text_structure, Heading, Structure};
use regex::Regex;
use std::sync::LazyLock;

static ATX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$").expect("atx"));
static SETEXT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}(=+|-+)\s*$").expect("setext"));
static MD_LIST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([-*+]|\d{1,9}[.)])\s+\S").expect("md list"));
static TABLE_DELIM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$").expect("table delimiter"));
static THEMATIC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}([-*_])(\s*[-*_]){2,}\s*$").expect("hr"));

fn fence_of(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

fn nonspace(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Headings (ATX and setext), paragraphs, lists, pipe tables and fenced code of markdown.
pub fn markdown_structure(text: &str) -> Structure {
    let lines: Vec<&str> = text.lines().collect();
    let mut s = Structure::default();
    let mut fence: Option<(char, usize)> = None;
    let mut para: Option<usize> = None;
    let mut total = 0usize;
    // The open list's kind (ordered or not): a change of marker kind starts a new list.
    let mut list: Option<bool> = None;
    let mut in_table = false;
    let close = |para: &mut Option<usize>, s: &mut Structure, total: &mut usize| {
        if let Some(n) = para.take() {
            s.paragraphs += 1;
            *total += n;
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some((c, n)) = fence {
            if fence_of(line).is_some_and(|(c2, n2)| c2 == c && n2 >= n && line.trim().chars().all(|x| x == c)) {
                fence = None;
            }
            continue;
        }
        if let Some(f) = fence_of(line) {
            close(&mut para, &mut s, &mut total);
            s.code_blocks += 1;
            fence = Some(f);
            list = None;
            continue;
        }
        if line.trim().is_empty() {
            close(&mut para, &mut s, &mut total);
            in_table = false;
            continue;
        }
        if in_table && line.contains('|') {
            continue;
        }
        in_table = false;
        if let Some(c) = ATX.captures(line) {
            close(&mut para, &mut s, &mut total);
            list = None;
            let title = c.get(2).map_or("", |m| m.as_str()).trim().to_string();
            s.headings.push(Heading { level: c[1].len() as u8, text: title, page: 1 });
            continue;
        }
        if THEMATIC.is_match(line) {
            close(&mut para, &mut s, &mut total);
            list = None;
            continue;
        }
        if let Some(c) = MD_LIST.captures(line) {
            close(&mut para, &mut s, &mut total);
            let ordered = c[1].starts_with(|ch: char| ch.is_ascii_digit());
            if list != Some(ordered) {
                s.lists += 1;
            }
            list = Some(ordered);
            s.list_items += 1;
            continue;
        }
        if line.contains('|') && lines.get(i).is_some_and(|next| next.contains('|') && TABLE_DELIM.is_match(next)) {
            close(&mut para, &mut s, &mut total);
            s.tables += 1;
            in_table = true;
            i += 1;
            continue;
        }
        if para.is_none() && list.is_none() {
            if let Some(c) = lines.get(i).and_then(|next| SETEXT.captures(next)) {
                let level = if c[1].starts_with('=') { 1 } else { 2 };
                s.headings.push(Heading { level, text: line.trim().to_string(), page: 1 });
                i += 1;
                continue;
            }
        }
        if list.is_some() && (line.starts_with(' ') || line.starts_with('\t')) {
            continue; // an item's continuation
        }
        list = None;
        para = Some(para.unwrap_or(0) + nonspace(line));
    }
    close(&mut para, &mut s, &mut total);
    if s.paragraphs > 0 {
        s.mean_paragraph_chars = total as f64 / s.paragraphs as f64;
    }
    s
}

/// Elements whose content is never shown.
const HIDDEN: &[&str] = &["script", "style", "noscript", "template", "head", "svg"];
/// Elements that start a new block of text.
const BLOCKS: &[&str] = &[
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "blockquote", "pre", "ul", "ol",
    "dl", "dt", "dd", "table", "figure", "figcaption", "form", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "title",
];
const LINE_BREAKS: &[&str] = &["br", "li", "tr", "caption"];

/// The visible text of an HTML page (headings on their own lines, blocks separated by blank
/// lines, table cells by tabs) and its structure from the markup: `h1`-`h6`, `p`, `li` in
/// `ul`/`ol`, `table`, `pre`. Without any `<p>` (a page of `div`s), paragraphs are counted on the
/// extracted text by the plain-text rule.
pub fn html_to_text(html: &str) -> (String, Structure) {
    let mut s = Structure::default();
    let mut out = String::new();
    let mut heading: Option<(u8, String)> = None;
    let mut para: Option<usize> = None;
    let (mut p_tags, mut para_total) = (0usize, 0usize);
    let mut i = 0;
    while i < html.len() {
        let Some(lt) = html[i..].find('<').map(|k| i + k) else {
            push_text(&html[i..], &mut out, &mut heading, &mut para);
            break;
        };
        push_text(&html[i..lt], &mut out, &mut heading, &mut para);
        let rest = &html[lt..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(html.len(), |k| lt + k + 3);
            continue;
        }
        let (tag, next) = match tag_end(rest) {
            Some(k) => (&rest[1..k], lt + k + 1),
            None => (&rest[1..], html.len()),
        };
        i = next;
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue; // `<!DOCTYPE>`, `<?xml ?>`, or a stray `<`
        }
        if !closing && HIDDEN.contains(&name.as_str()) && !tag.ends_with('/') {
            i = find_close(html, i, &name);
            continue;
        }
        let level = name.strip_prefix('h').and_then(|d| d.parse::<u8>().ok()).filter(|l| (1..=6).contains(l));
        if BLOCKS.contains(&name.as_str()) || level.is_some() {
            if let Some(n) = para.take() {
                if n > 0 {
                    s.paragraphs += 1;
                    para_total += n;
                }
            }
            out.push_str("\n\n");
        } else if LINE_BREAKS.contains(&name.as_str()) {
            out.push('\n');
        } else if name == "td" || name == "th" {
            out.push('\t');
        }
        if closing {
            if let (Some(_), Some((lvl, text))) = (level, heading.take()) {
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() {
                    s.headings.push(Heading { level: lvl, text, page: 1 });
                }
            }
            continue;
        }
        match name.as_str() {
            "p" => {
                p_tags += 1;
                para = Some(0);
            }
            "li" => s.list_items += 1,
            "ul" | "ol" => s.lists += 1,
            "table" => s.tables += 1,
            "pre" => s.code_blocks += 1,
            _ => {}
        }
        if let Some(l) = level {
            heading = Some((l, String::new()));
        }
    }
    if let Some(n) = para.take() {
        if n > 0 {
            s.paragraphs += 1;
            para_total += n;
        }
    }
    let text = tidy(&out);
    if p_tags == 0 {
        let plain = text_structure(&plain_lines(&text));
        s.paragraphs = plain.paragraphs;
        s.mean_paragraph_chars = plain.mean_paragraph_chars;
    } else if s.paragraphs > 0 {
        s.mean_paragraph_chars = para_total as f64 / s.paragraphs as f64;
    }
    (text, s)
}

fn push_text(raw: &str, out: &mut String, heading: &mut Option<(u8, String)>, para: &mut Option<usize>) {
    if raw.is_empty() {
        return;
    }
    let text = decode_entities(raw);
    if let Some((_, h)) = heading {
        h.push_str(&text);
    }
    if let Some(n) = para {
        *n += nonspace(&text);
    }
    out.push_str(&text);
}

/// Index of the `>` closing the tag that starts `s`, skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (k, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(k),
            _ => {}
        }
    }
    None
}

/// Just past `</name ...>` from `from`, case-insensitively; the end when it never closes.
fn find_close(html: &str, from: usize, name: &str) -> usize {
    let lower = html[from..].to_ascii_lowercase();
    let needle = format!("</{name}");
    match lower.find(&needle) {
        Some(k) => {
            let at = from + k;
            html[at..].find('>').map_or(html.len(), |e| at + e + 1)
        }
        None => html.len(),
    }
}

/// Whitespace runs inside lines become one space; at most one blank line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.split('\n') {
        let cells: Vec<String> =
            line.split('\t').map(|c| c.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|c| !c.is_empty()).collect();
        let joined = cells.join("\t");
        if joined.is_empty() {
            blank += 1;
            if blank == 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank = 0;
        out.push_str(&joined);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The common named entities and all numeric ones; an unknown entity stays as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..].find(';').map(|k| k + 1).filter(|k| *k <= 12);
        let decoded = semi.and_then(|k| {
            let name = &rest[1..k];
            let c = if let Some(num) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
            } else if let Some(num) = name.strip_prefix('#') {
                num.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                Some(match name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    "nbsp" => ' ',
                    "mdash" => '—',
                    "ndash" => '–',
                    "hellip" => '…',
                    "copy" => '©',
                    "rsquo" => '’',
                    "lsquo" => '‘',
                    "ldquo" => '“',
                    "rdquo" => '”',
                    _ => return None,
                })
            }?;
            Some((c, k))
        });
        match decoded {
            Some((c, k)) => {
                out.push(c);
                rest = &rest[k + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_blocks() {
        let md = "Title\n=====\n\nIntro paragraph\nwrapped.\n\n## Part *two*\n\n- a\n- b\n  more\n\n1. x\n2. y\n\n\
                  | h1 | h2 |\n|----|:--:|\n| 1 | 2 |\n\n```rust\n# not a heading\n```\n\nLast words.\n";
        let s = markdown_structure(md);
        let h: Vec<(&str, u8)> = s.headings.iter().map(|h| (h.text.as_str(), h.level)).collect();
        assert_eq!(h, vec![("Title", 1), ("Part *two*", 2)]);
        assert_eq!(s.paragraphs, 2, "{s:?}");
        assert_eq!((s.lists, s.list_items), (2, 4));
        assert_eq!((s.tables, s.code_blocks), (1, 1));
    }

    #[test]
    fn html_text_and_structure() {
        let html = "<!DOCTYPE html><html><head><title>t</title><style>p{color:red}</style></head><body>\
                    <h1>Main &amp; only</h1><!-- <h2>hidden</h2> --><p>First <b>para</b>.</p><p>Second.</p>\
                    <ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>\
                    <script>var x = '<h2>no</h2>';</script></body></html>";
        let (text, s) = html_to_text(html);
        assert_eq!(s.headings, vec![Heading { level: 1, text: "Main & only".into(), page: 1 }]);
        assert_eq!((s.paragraphs, s.list_items, s.lists, s.tables), (2, 2, 1, 1));
        assert!(text.contains("First para."), "{text}");
        assert!(text.contains("a\tb"), "{text}");
        assert!(!text.contains("color") && !text.contains("var x") && !text.contains("hidden"), "{text}");
    }

    #[test]
    fn entities() {
        assert_eq!(decode_entities("a &lt;b&gt; &#65;&#x42; &bogus; &"), "a <b> AB &bogus; &");
    }
}
