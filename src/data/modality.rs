//! Modality types and item tags (`image2`, `threeD1`): the vocabulary every stage shares.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The seven UniM modality types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Modality {
    Text,
    Image,
    Audio,
    Video,
    Document,
    Code,
    #[serde(rename = "threeD")]
    ThreeD,
}

impl Modality {
    pub const ALL: [Modality; 7] = [
        Modality::Text,
        Modality::Image,
        Modality::Audio,
        Modality::Video,
        Modality::Document,
        Modality::Code,
        Modality::ThreeD,
    ];

    /// The spelling UniM uses in `modal` keys and placeholders.
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Text => "text",
            Modality::Image => "image",
            Modality::Audio => "audio",
            Modality::Video => "video",
            Modality::Document => "document",
            Modality::Code => "code",
            Modality::ThreeD => "threeD",
        }
    }

    /// Accepts the names seen in the wild, case-insensitively, with `_`, `-` and spaces ignored
    /// (`threeD`, `three_d`, `3d`, `doc`, `img`).
    pub fn parse_name(name: &str) -> Option<Modality> {
        let norm: String = name
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' ' | '\t'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match norm.as_str() {
            "text" => Modality::Text,
            "image" | "img" => Modality::Image,
            "audio" => Modality::Audio,
            "video" => Modality::Video,
            "document" | "doc" => Modality::Document,
            "code" => Modality::Code,
            "threed" | "3d" => Modality::ThreeD,
            _ => return None,
        })
    }

    /// Text and code are written inline in `modal`; the others name a media file.
    pub fn is_inline(self) -> bool {
        matches!(self, Modality::Text | Modality::Code)
    }

    /// Generation quality is scored for every item except plain text.
    pub fn has_generation_quality(self) -> bool {
        self != Modality::Text
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Modality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Modality::parse_name(s).ok_or_else(|| {
            let known: Vec<_> = Modality::ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown modality `{s}` (known: {})", known.join(", "))
        })
    }
}

/// One item of a side: a modality and its number, e.g. `image2`.
/// Serialised as its display string (`"image2"`) in the store and the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub modality: Modality,
    pub index: u32,
}

impl Tag {
    pub fn new(modality: Modality, index: u32) -> Self {
        Tag { modality, index }
    }

    /// Parses a `modal` key such as `image2`, `threeD1`, `Audio 3`.
    pub fn parse_key(key: &str) -> Option<Tag> {
        let key = key.trim();
        let digits_at = key.find(|c: char| c.is_ascii_digit())?;
        let (name, number) = key.split_at(digits_at);
        if !number.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let modality = Modality::parse_name(name)?;
        Some(Tag::new(modality, number.parse().ok()?))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.modality, self.index)
    }
}

impl Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Tag::parse_key(&s).ok_or_else(|| serde::de::Error::custom(format!("not an item tag: `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_seen_in_the_wild() {
        assert_eq!(Tag::parse_key("image2"), Some(Tag::new(Modality::Image, 2)));
        assert_eq!(Tag::parse_key("threeD1"), Some(Tag::new(Modality::ThreeD, 1)));
        assert_eq!(Tag::parse_key("Audio 3"), Some(Tag::new(Modality::Audio, 3)));
        assert_eq!(Tag::parse_key("three_d12"), Some(Tag::new(Modality::ThreeD, 12)));
        assert_eq!(Tag::parse_key("hologram1"), None);
        assert_eq!(Tag::parse_key("image"), None);
        assert_eq!(Tag::parse_key("image1a"), None);
    }

    #[test]
    fn display_round_trips() {
        for m in Modality::ALL {
            let t = Tag::new(m, 7);
            assert_eq!(Tag::parse_key(&t.to_string()), Some(t));
        }
    }
}
