//! A message's text, its web addresses made into links.

use leptos::prelude::*;

/// A run of a message's text.
#[derive(Debug, PartialEq, Eq)]
pub enum Run<'a> {
    Text(&'a str),
    /// An `http://` or `https://` address, exactly as written.
    Link(&'a str),
}

/// Splits `body` into text and web addresses. Only `http://` and `https://`
/// make links (never `javascript:` or `data:`). An address starts at a word
/// boundary and ends before whitespace, a control or a bidi control
/// character; punctuation that ends a sentence after it (`.`, `,`, `!`, a
/// closing bracket it did not open) is left as text.
pub fn runs(body: &str) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    let mut text_from = 0;
    let mut search_from = 0;
    while let Some(start) = next_scheme(body, search_from) {
        let tail = &body[start..];
        let length = tail
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() || c.is_control() || is_bidi_control(c))
            .map_or(tail.len(), |(at, _)| at);
        let address = trim_trailing_punctuation(&tail[..length]);
        let after_scheme = address.split_once("://").map_or("", |(_, rest)| rest);
        if after_scheme.is_empty() {
            search_from = start + length.max(1);
            continue;
        }
        if start > text_from {
            runs.push(Run::Text(&body[text_from..start]));
        }
        runs.push(Run::Link(address));
        text_from = start + address.len();
        search_from = text_from;
    }
    if text_from < body.len() {
        runs.push(Run::Text(&body[text_from..]));
    }
    runs
}

/// Where the next `http://` or `https://` at a word boundary starts.
fn next_scheme(body: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = body[at..].find("http") {
        let start = at + found;
        let rest = &body[start..];
        let at_boundary = body[..start]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_alphanumeric());
        if at_boundary && (rest.starts_with("http://") || rest.starts_with("https://")) {
            return Some(start);
        }
        at = start + "http".len();
    }
    None
}

fn trim_trailing_punctuation(address: &str) -> &str {
    // Brackets counted once, then kept up to date: linear in the address.
    let balance = |open: char, close: char| {
        address.chars().fold(0_i64, |balance, c| match c {
            c if c == open => balance + 1,
            c if c == close => balance - 1,
            _ => balance,
        })
    };
    let (mut round, mut square) = (balance('(', ')'), balance('[', ']'));
    let mut address = address;
    while let Some(last) = address.chars().next_back() {
        let trim = match last {
            ')' => round < 0,
            ']' => square < 0,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '>' => true,
            _ => false,
        };
        if !trim {
            break;
        }
        match last {
            ')' => round += 1,
            ']' => square += 1,
            _ => {}
        }
        address = &address[..address.len() - last.len_utf8()];
    }
    address
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A message body with its addresses as links that open in a new tab and
/// tell the site nothing of where they came from.
#[component]
pub fn MessageText(body: String) -> impl IntoView {
    runs(&body)
        .into_iter()
        .map(|run| match run {
            Run::Text(text) => text.to_owned().into_any(),
            Run::Link(address) => view! {
                <a href=address.to_owned() target="_blank" rel="noopener noreferrer nofollow">
                    {address.to_owned()}
                </a>
            }
            .into_any(),
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::Run::{Link, Text};
    use super::runs;

    #[test]
    fn plain_text_has_no_links() {
        assert_eq!(runs("hello there"), vec![Text("hello there")]);
        assert_eq!(runs(""), vec![]);
        assert_eq!(
            runs("http and https are words"),
            vec![Text("http and https are words")]
        );
    }

    #[test]
    fn addresses_become_links_and_sentence_punctuation_stays_text() {
        assert_eq!(
            runs("see https://example.org/a?b=1#c, then http://x.test."),
            vec![
                Text("see "),
                Link("https://example.org/a?b=1#c"),
                Text(", then "),
                Link("http://x.test"),
                Text("."),
            ]
        );
        assert_eq!(
            runs("(https://en.wikipedia.org/wiki/Rust_(language))"),
            vec![
                Text("("),
                Link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Text(")"),
            ]
        );
        assert_eq!(runs("https://a.test"), vec![Link("https://a.test")]);
        assert_eq!(
            runs("[https://a.test/x]]"),
            vec![Text("["), Link("https://a.test/x"), Text("]]")]
        );
    }

    #[test]
    fn only_web_schemes_at_a_word_boundary_make_links() {
        assert_eq!(
            runs("javascript:alert(1) data:text/html,x"),
            vec![Text("javascript:alert(1) data:text/html,x")]
        );
        assert_eq!(runs("xhttps://a.test"), vec![Text("xhttps://a.test")]);
        assert_eq!(runs("https:// nothing"), vec![Text("https:// nothing")]);
    }

    #[test]
    fn an_address_ends_at_a_bidi_control() {
        assert_eq!(
            runs("https://a.test\u{202E}gpj.exe"),
            vec![Link("https://a.test"), Text("\u{202E}gpj.exe")]
        );
    }
}
