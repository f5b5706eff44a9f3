//! Normalizing contributor text before comparing it.
//!
//! Summaries, attestations and answers arrive as typed: odd spacing, mixed
//! case, punctuation. Rules such as "mentions credentials" or "is not just
//! `done`" compare normalized forms, built by the functions here.

/// True when `text` has nothing but whitespace.
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Trims `text` and replaces every run of whitespace with one space.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `max` characters of `text` (not bytes: never splits a
/// character).
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// Lowercase alphanumeric words of `text`, in order: every run of
/// characters that are not letters or digits separates words.
/// `"API-key, rotated!"` gives `["api", "key", "rotated"]`.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// True when `needle` occurs in `haystack` as consecutive whole words.
/// An empty `needle` is contained in everything.
pub fn contains_words<S: AsRef<str>>(haystack: &[S], needle: &[S]) -> bool {
    needle.is_empty()
        || haystack.windows(needle.len()).any(|window| {
            window
                .iter()
                .zip(needle)
                .all(|(a, b)| a.as_ref() == b.as_ref())
        })
}

/// Byte offset of the first occurrence of `phrase` in `text` that starts
/// and ends at word boundaries (the characters around it, if any, are not
/// letters or digits). Comparison is exact: lowercase both sides first for
/// a case-insensitive search. `"todo"` is found in `"- TODO: x"` (once
/// lowercased) but not in `"todos"` or `"mastodon"`.
pub fn find_phrase(text: &str, phrase: &str) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    text.match_indices(phrase).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A byte count for people: `512 bytes`, `1.5 KiB`, `128 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_collapse() {
        assert!(is_blank(" \n\t"));
        assert!(!is_blank(" a "));
        assert_eq!(collapse_whitespace("  a \n\n b\tc  "), "a b c");
        assert_eq!(collapse_whitespace(""), "");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn words_split_on_non_alphanumerics() {
        assert_eq!(words("API-key, rotated!"), ["api", "key", "rotated"]);
        assert_eq!(words("  "), Vec::<String>::new());
        assert_eq!(words("Ünïcode_OK"), ["ünïcode", "ok"]);
    }

    #[test]
    fn word_sequences() {
        let haystack = words("I did not include any client data or API keys.");
        assert!(contains_words(&haystack, &words("client data")));
        assert!(!contains_words(&haystack, &words("api key")));
        assert!(contains_words(&haystack, &words("API keys")));
        assert!(contains_words(&haystack, &[] as &[String]));
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(1), "1 byte");
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(128 * 1024 * 1024), "128 MiB");
        assert_eq!(format_bytes(u64::MAX), "16384 PiB");
    }

    #[test]
    fn phrases_respect_word_boundaries() {
        assert_eq!(find_phrase("- todo: x", "todo"), Some(2));
        assert_eq!(find_phrase("todos", "todo"), None);
        assert_eq!(find_phrase("mastodon todo", "todo"), Some(9));
        assert_eq!(find_phrase("lorem ipsum dolor", "lorem ipsum"), Some(0));
        assert_eq!(find_phrase("é_todo", "todo"), Some(3), "`_` is a boundary");
        assert_eq!(find_phrase("x", ""), None);
    }
}
