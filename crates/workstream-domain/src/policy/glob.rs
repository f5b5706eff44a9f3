//! The glob dialect of forbidden-artifact patterns, for checks made at setup time.
//!
//! The same dialect as the `forbidden-files` checker (checkers/README.md): `*` and `?`
//! match within one path segment, `**` across segments, a trailing `/` means "a
//! directory of this name", matching ignores ASCII case, and a pattern matches a file
//! when it matches the file's whole path, its name, or any directory on its path. Setup
//! uses it to find a required artifact that a forbidden pattern would reject (R8, R9),
//! so a project cannot demand what the platform forbids.

/// Whether the forbidden `pattern` would reject a file at `path`.
pub fn forbids(pattern: &str, path: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let path = path.to_ascii_lowercase();
    let (pattern, directory_only) = match pattern.strip_suffix('/') {
        Some(stripped) => (stripped.to_owned(), true),
        None => (pattern, false),
    };
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() || pattern.is_empty() {
        return false;
    }
    // Candidates: every directory on the path (as its prefix and as its name), and,
    // unless the pattern names a directory, the file itself (whole path and name).
    let directories = segments.len() - 1;
    for end in 1..=directories {
        if matches(&pattern, &segments[..end]) || matches(&pattern, &segments[end - 1..end]) {
            return true;
        }
    }
    !directory_only
        && (matches(&pattern, &segments) || matches(&pattern, &segments[segments.len() - 1..]))
}

fn matches(pattern: &[&str], segments: &[&str]) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((&"**", rest)) => (0..=segments.len()).any(|skip| matches(rest, &segments[skip..])),
        Some((first, rest)) => match segments.split_first() {
            Some((segment, tail)) => {
                segment_matches(first.as_bytes(), segment.as_bytes()) && matches(rest, tail)
            }
            None => false,
        },
    }
}

fn segment_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment_matches(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && segment_matches(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && segment_matches(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::forbids;

    #[test]
    fn names_paths_and_directories() {
        assert!(forbids(".env", ".env"));
        assert!(forbids(".env", "app/.env"));
        assert!(!forbids(".env", "app/.envrc"));
        assert!(forbids(".env.*", "config/.env.local"));
        assert!(forbids(".git/", ".git/config"));
        assert!(forbids(".git/", "repo/.git/HEAD"));
        assert!(!forbids(".git/", ".gitignore"));
        assert!(forbids("*.pem", "certs/server.PEM"));
        assert!(forbids("*.key", "tls.key"));
        assert!(forbids("id_rsa*", "home/.ssh/id_rsa.pub"));
        assert!(forbids("data/raw/", "data/raw/a.csv"));
        assert!(forbids("**/fixtures/*.csv", "a/b/fixtures/x.csv"));
        assert!(!forbids("*.pem", "outputs/final-answer.md"));
    }
}
