//! Path patterns, as written in checker configurations.
//!
//! A deliberately small glob dialect, hand-written because the usual crates
//! (globset and friends) bring a regex engine that would triple the size of
//! a component. Patterns are matched against packet paths, which are
//! `/`-separated and relative to the packet root:
//!
//! | pattern   | matches                                                    |
//! |-----------|------------------------------------------------------------|
//! | `?`       | any one character except `/`                               |
//! | `*`       | any run of characters except `/`, including none           |
//! | `**`      | as a whole segment: any number of segments, including none |
//! | `a/**`    | at the end: everything inside `a` (one segment or more)    |
//! | `a/`      | a trailing `/` names a directory: same as `a/**`           |
//! | `/a`      | a leading `/` is ignored (patterns are rooted anyway)      |
//!
//! Everything else is literal, including `[`, `]` and `{`. A `**` inside a
//! segment (`a**`), empty segments (`a//b`), backslashes and `.`/`..`
//! segments are errors, so that a typo in a policy fails loudly instead of
//! silently matching nothing.
//!
//! Two ways to match: [`Glob::matches`] compares the whole path (what
//! "this file must exist" wants), [`Glob::matches_anywhere`] accepts any
//! run of whole segments inside the path (what "this must not appear"
//! wants: `*.pem` matches `keys/server.pem`, and `.git/` matches
//! `vendor/lib/.git/HEAD`).

use std::fmt;

/// A compiled path pattern. See the [module documentation](self) for the
/// syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    segments: Vec<Segment>,
    case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole segments.
    AnyPath,
    /// One segment, matched token by token.
    Name(Vec<Token>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    AnyChar,
    /// `*`
    AnyRun,
}

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    pattern: String,
    problem: &'static str,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pattern `{}`: {}", self.pattern, self.problem)
    }
}

impl std::error::Error for GlobError {}

impl Glob {
    /// Compiles `pattern`. Matching is case-sensitive until
    /// [`Glob::case_insensitive`] says otherwise.
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let error = |problem| GlobError {
            pattern: pattern.to_owned(),
            problem,
        };
        if pattern.contains('\\') {
            return Err(error("use `/` to separate path segments, not `\\`"));
        }
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let (body, names_directory) = match body.strip_suffix('/') {
            Some(body) => (body, true),
            None => (body, false),
        };
        if body.is_empty() {
            return Err(error("the pattern is empty"));
        }
        let mut segments = Vec::new();
        for part in body.split('/') {
            segments.push(match part {
                "" => return Err(error("empty path segment (`//`)")),
                "." | ".." => return Err(error("`.` and `..` segments are not allowed")),
                "**" => Segment::AnyPath,
                _ if part.contains("**") => {
                    return Err(error("`**` must be a whole path segment, as in `a/**/b`"));
                }
                _ => Segment::Name(part.chars().map(Token::from_char).collect()),
            });
        }
        if names_directory {
            segments.push(Segment::AnyPath);
        }
        // A trailing `**` means "inside": at least one more segment, so that
        // `a/**` matches the files in `a` but not a file named `a`.
        if segments.last() == Some(&Segment::AnyPath) {
            segments.insert(segments.len() - 1, Segment::Name(vec![Token::AnyRun]));
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            segments,
            case_insensitive: false,
        })
    }

    /// Makes matching ignore letter case (both sides are lowercased).
    pub fn case_insensitive(mut self, yes: bool) -> Self {
        if yes && !self.case_insensitive {
            for segment in &mut self.segments {
                if let Segment::Name(tokens) = segment {
                    *tokens = tokens
                        .iter()
                        .flat_map(|token| match *token {
                            Token::Literal(c) => c.to_lowercase().map(Token::Literal).collect(),
                            other => vec![other],
                        })
                        .collect();
                }
            }
        }
        // Lowercasing cannot be undone, so `false` after `true` only stops
        // lowercasing the path; patterns are built once, in practice.
        self.case_insensitive = yes;
        self
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The one path a literal, case-sensitive pattern names (its leading `/`
    /// dropped), so a caller can look it up instead of matching every path.
    pub fn literal_path(&self) -> Option<&str> {
        (self.is_literal() && !self.case_insensitive)
            .then(|| self.pattern.strip_prefix('/').unwrap_or(&self.pattern))
    }

    /// True when the pattern has no wildcard: it names exactly one path.
    pub fn is_literal(&self) -> bool {
        self.segments.iter().all(|segment| match segment {
            Segment::AnyPath => false,
            Segment::Name(tokens) => tokens.iter().all(|t| matches!(t, Token::Literal(_))),
        })
    }

    /// True when the whole `path` matches the pattern.
    pub fn matches(&self, path: &str) -> bool {
        let names = self.split(path);
        match_segments(&self.segments, &names)
    }

    /// True when some run of whole segments of `path` matches the pattern:
    /// the pattern names the file itself or any directory on its way.
    pub fn matches_anywhere(&self, path: &str) -> bool {
        let names = self.split(path);
        // Matching "a prefix of some suffix" is matching the pattern
        // followed by `**` against every suffix.
        let mut open_ended = self.segments.clone();
        open_ended.push(Segment::AnyPath);
        (0..names.len()).any(|start| match_segments(&open_ended, &names[start..]))
    }

    fn split(&self, path: &str) -> Vec<Vec<char>> {
        path.split('/')
            .filter(|name| !name.is_empty())
            .map(|name| {
                if self.case_insensitive {
                    name.to_lowercase().chars().collect()
                } else {
                    name.chars().collect()
                }
            })
            .collect()
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

impl Token {
    fn from_char(c: char) -> Self {
        match c {
            '*' => Token::AnyRun,
            '?' => Token::AnyChar,
            c => Token::Literal(c),
        }
    }
}

/// Matches segments against names. The same greedy algorithm with one
/// backtrack point as [`match_name`], one level up: `**` plays the part of
/// `*` and a whole name the part of a character. It is linear-time in
/// practice and never exponential, whatever the pattern.
fn match_segments(segments: &[Segment], names: &[Vec<char>]) -> bool {
    let (mut s, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < names.len() {
        match segments.get(s) {
            Some(Segment::AnyPath) => {
                backtrack = Some((s, n));
                s += 1;
            }
            Some(Segment::Name(tokens)) if match_name(tokens, &names[n]) => {
                s += 1;
                n += 1;
            }
            _ => match backtrack {
                // Let the last `**` swallow one more name and retry.
                Some((star, start)) => {
                    s = star + 1;
                    n = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            },
        }
    }
    segments[s..]
        .iter()
        .all(|segment| *segment == Segment::AnyPath)
}

/// Matches one name against the tokens of one segment.
fn match_name(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut c) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while c < name.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                backtrack = Some((t, c));
                t += 1;
            }
            Some(Token::AnyChar) => {
                t += 1;
                c += 1;
            }
            Some(Token::Literal(l)) if *l == name[c] => {
                t += 1;
                c += 1;
            }
            _ => match backtrack {
                Some((star, start)) => {
                    t = star + 1;
                    c = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).unwrap()
    }

    #[test]
    fn literal_paths_match_exactly() {
        let g = glob("docs/answer.md");
        assert!(g.is_literal());
        assert_eq!(g.literal_path(), Some("docs/answer.md"));
        assert!(g.matches("docs/answer.md"));
        assert!(!g.matches("docs/answer.mdx"));
        assert!(!g.matches("answer.md"));
        assert!(!g.matches("x/docs/answer.md"));
        assert!(!g.matches("Docs/answer.md"));
    }

    #[test]
    fn star_stays_within_a_segment() {
        let g = glob("*.md");
        assert!(!g.is_literal());
        assert!(g.matches("a.md"));
        assert!(g.matches(".md"));
        assert!(!g.matches("docs/a.md"));
        assert!(glob("docs/*").matches("docs/a"));
        assert!(!glob("docs/*").matches("docs/a/b"));
        assert!(glob("a*b*c").matches("abc"));
        assert!(glob("a*b*c").matches("aXbYbZc"));
        assert!(!glob("a*b*c").matches("aXbYbZ"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(glob("id_rsa?").matches("id_rsa2"));
        assert!(!glob("id_rsa?").matches("id_rsa"));
        assert!(glob("?.txt").matches("é.txt"));
        assert!(!glob("a?b").matches("a/b"));
    }

    #[test]
    fn double_star_spans_segments() {
        let g = glob("**/*.rs");
        assert!(g.matches("main.rs"));
        assert!(g.matches("src/main.rs"));
        assert!(g.matches("a/b/c/main.rs"));
        assert!(!g.matches("a/b/c/main.rs/x"));
        let g = glob("src/**/mod.rs");
        assert!(g.matches("src/mod.rs"));
        assert!(g.matches("src/a/b/mod.rs"));
        assert!(!g.matches("lib/a/mod.rs"));
        assert!(glob("a/**/b/**/c").matches("a/x/b/y/z/c"));
        assert!(glob("a/**/b/**/c").matches("a/b/c"));
        assert!(!glob("a/**/b/**/c").matches("a/c/b"));
    }

    #[test]
    fn trailing_double_star_and_slash_mean_inside() {
        for pattern in ["evidence/**", "evidence/"] {
            let g = glob(pattern);
            assert!(g.matches("evidence/a.png"), "{pattern}");
            assert!(g.matches("evidence/x/y.log"), "{pattern}");
            assert!(!g.matches("evidence"), "{pattern}");
            assert!(!g.matches("evidence.txt"), "{pattern}");
        }
        assert!(glob("**").matches("anything/at/all"));
    }

    #[test]
    fn leading_slash_is_ignored() {
        assert!(glob("/README.md").matches("README.md"));
        assert!(!glob("/README.md").matches("a/README.md"));
    }

    #[test]
    fn brackets_are_literal() {
        assert!(glob("[a].txt").matches("[a].txt"));
        assert!(!glob("[a].txt").matches("a.txt"));
    }

    #[test]
    fn case_insensitive_lowercases_both_sides() {
        let g = glob("*.PEM").case_insensitive(true);
        assert!(g.matches("server.pem"));
        assert!(g.matches("SERVER.Pem"));
        assert!(!glob("*.PEM").matches("server.pem"));
    }

    #[test]
    fn anywhere_matches_a_run_of_segments() {
        let pem = glob("*.pem");
        assert!(pem.matches_anywhere("server.pem"));
        assert!(pem.matches_anywhere("keys/prod/server.pem"));
        assert!(
            pem.matches_anywhere("certs.pem/readme.txt"),
            "a directory on the way"
        );
        assert!(!pem.matches_anywhere("keys/server.pem.txt"));

        let git = glob(".git/");
        assert!(git.matches_anywhere(".git/config"));
        assert!(git.matches_anywhere("vendor/lib/.git/HEAD"));
        assert!(
            !git.matches_anywhere(".git"),
            "a file named .git is not the directory"
        );
        assert!(!git.matches_anywhere(".github/workflows/ci.yml"));

        let aws = glob(".aws/credentials");
        assert!(aws.matches_anywhere("home/.aws/credentials"));
        assert!(aws.matches_anywhere(".aws/credentials"));
        assert!(!aws.matches_anywhere(".aws/config"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        // Exponential in a naive recursive matcher.
        let g = glob("**/**/**/**/**/**/**/**/x");
        let path = ["a"; 40].join("/");
        assert!(!g.matches(&path));
        let g = glob("*a*a*a*a*a*a*a*a*b");
        assert!(!g.matches(&"a".repeat(200)));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in ["", "/", "a//b", "a/**b", "***", "a\\b", "../x", "a/./b"] {
            assert!(Glob::new(bad).is_err(), "{bad:?} should be rejected");
        }
        let err = Glob::new("a/**b").unwrap_err().to_string();
        assert!(err.contains("a/**b"), "{err}");
    }
}
