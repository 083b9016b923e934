//! Character- and token-level cleanliness of extracted text.
//!
//! A token (whitespace-separated) is word-like when, after stripping non-alphanumeric characters
//! at its ends, it is non-empty and either (a) at most [`MAX_WORD_CHARS`] characters of letters,
//! digits and the joiners `' ’ - . / : @ _ % & + ,` or (b) CJK text (written without spaces, so any
//! length). Tokens that are only punctuation are neutral (neither word-like nor not).

/// Longer unbroken tokens are run-together text or binary noise.
pub const MAX_WORD_CHARS: usize = 40;
const JOINERS: &str = "'’-./:@_%&+,";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextStats {
    /// Non-whitespace characters.
    pub chars: usize,
    /// Tokens that are not only punctuation.
    pub tokens: usize,
    pub word_like: usize,
    /// Control characters (other than whitespace), U+FFFD and private-use characters.
    pub unprintable: usize,
    /// Characters in UTF-8-read-as-Latin-1/1252 sequences (`Ã©`, `Â `, `â€™`).
    pub mojibake: usize,
}

impl TextStats {
    pub fn word_share(&self) -> f64 {
        if self.tokens == 0 {
            return 0.0;
        }
        self.word_like as f64 / self.tokens as f64
    }
    pub fn printable_share(&self) -> f64 {
        if self.chars == 0 {
            return 1.0;
        }
        1.0 - self.unprintable as f64 / self.chars as f64
    }
    pub fn mojibake_ratio(&self) -> f64 {
        if self.chars == 0 {
            return 0.0;
        }
        self.mojibake as f64 / self.chars as f64
    }
    pub fn garbage_ratio(&self) -> f64 {
        if self.chars == 0 {
            return 0.0;
        }
        ((self.unprintable + self.mojibake) as f64 / self.chars as f64).min(1.0)
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

fn is_unprintable(c: char) -> bool {
    (c.is_control() && !c.is_whitespace()) || c == '\u{FFFD}' || matches!(c as u32, 0xE000..=0xF8FF)
}

fn word_like(token: &str) -> Option<bool> {
    let core = token.trim_matches(|c: char| !c.is_alphanumeric());
    if core.is_empty() {
        return None;
    }
    if core.chars().any(is_cjk) {
        return Some(core.chars().all(|c| c.is_alphanumeric() || is_cjk_punct(c) || JOINERS.contains(c)));
    }
    Some(core.chars().count() <= MAX_WORD_CHARS && core.chars().all(|c| c.is_alphanumeric() || JOINERS.contains(c)))
}

/// Measures `text`.
pub fn measure(text: &str) -> TextStats {
    let mut s = TextStats::default();
    for token in text.split_whitespace() {
        if let Some(w) = word_like(token) {
            s.tokens += 1;
            s.word_like += usize::from(w);
        }
    }
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    s.chars = chars.len();
    s.unprintable = chars.iter().filter(|c| is_unprintable(**c)).count();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if (c == 'Ã' || c == 'Â') && next.is_some_and(|n| ('\u{80}'..='\u{BF}').contains(&n) || "©®°±²³´µ¶·¸¹º»¼½¾¿¡¢£¤¥¦§¨ª«¬".contains(n)) {
            s.mojibake += 2;
            i += 2;
        } else if c == 'â' && next == Some('€') {
            s.mojibake += 3.min(chars.len() - i);
            i += 3;
        } else {
            i += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_prose_is_all_words() {
        let s = measure("The café opened in 1998 (see p. 12), e-mail: a@b.org — “quoted” words.");
        assert_eq!(s.word_share(), 1.0, "{s:?}");
        assert_eq!(s.garbage_ratio(), 0.0);
    }

    #[test]
    fn mojibake_and_unmapped_glyphs_are_garbage() {
        let s = measure("The cafÃ© opened â€™ here \u{FFFD}\u{E001}\u{E002}");
        assert_eq!(s.mojibake, 5);
        assert_eq!(s.unprintable, 3);
        assert!(s.garbage_ratio() > 0.2, "{s:?}");
        let noise = measure("x#$%^kq@@!~ Ç$#@!k 9f8a7s6d5f4g3h2j1k0l9z8x7c6v5b4n3m2q1w0e9r8t7y");
        assert_eq!(noise.word_share(), 0.0, "{noise:?}");
    }

    #[test]
    fn cjk_runs_are_words() {
        assert_eq!(measure("这是一个没有空格的很长的中文句子，这是一个没有空格的很长的中文句子，这是一个没有空格的句子。").word_share(), 1.0);
    }
}
