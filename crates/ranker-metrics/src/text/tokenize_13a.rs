//! sacrebleu's `13a` tokenizer (the mteval-v13a tokenization used by WMT).
//!
//! A transcription of `sacrebleu/tokenizers/tokenizer_13a.py` and `tokenizer_re.py`
//! (sacrebleu 2.6.0). The four regular expressions of `TokenizerRegexp` are written as
//! byte scans; each scan makes the same non-overlapping, leftmost matches that Python's
//! `re.sub` makes, which `tests/tokenize_13a_regex.rs` checks against the regexes
//! themselves.

/// Tokenizes one line as `sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(line)`:
/// tokens separated by single spaces, no leading or trailing space.
///
/// BLEU calls it on `line.rstrip()`; see [`python_rstrip`].
pub fn tokenize_13a(line: &str) -> String {
    let mut line = std::borrow::Cow::Borrowed(line);
    if line.contains("<skipped>") {
        line = line.replace("<skipped>", "").into();
    }
    if line.contains('\n') {
        line = line.replace("-\n", "").replace('\n', " ").into();
    }
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .into();
    }

    // TokenizerRegexp on f" {line} ". The rules only look at ASCII characters, and every
    // byte of a multi-byte UTF-8 character is >= 0x80, so scanning bytes makes the same
    // matches as scanning characters and only ever inserts ASCII between characters.
    let mut padded = Vec::with_capacity(line.len() * 2 + 2);
    padded.push(b' ');
    pad_symbols(line.as_bytes(), &mut padded);
    padded.push(b' ');
    let mut scratch = Vec::with_capacity(padded.len() + padded.len() / 4);
    // The last three rules cannot match without their trigger characters.
    if padded.iter().any(|&c| c == b'.' || c == b',') {
        // ([^0-9])([\.,]) -> "\1 \2 "
        replace_pairs(
            &padded,
            &mut scratch,
            |a| !a.is_ascii_digit(),
            |b| b == b'.' || b == b',',
            |a, b, out| out.extend_from_slice(&[a, b' ', b, b' ']),
        );
        // ([\.,])([^0-9]) -> " \1 \2"
        replace_pairs(
            &scratch,
            &mut padded,
            |a| a == b'.' || a == b',',
            |b| !b.is_ascii_digit(),
            |a, b, out| out.extend_from_slice(&[b' ', a, b' ', b]),
        );
    }
    if padded.contains(&b'-') {
        // ([0-9])(-) -> "\1 \2 "
        replace_pairs(
            &padded,
            &mut scratch,
            |a| a.is_ascii_digit(),
            |b| b == b'-',
            |a, b, out| out.extend_from_slice(&[a, b' ', b, b' ']),
        );
        std::mem::swap(&mut padded, &mut scratch);
    }
    let text = std::str::from_utf8(&padded).expect("only ASCII is inserted, between characters");
    join_python_split(text)
}

/// `str.rstrip()` with no argument: strips the characters Python's `str.isspace` accepts.
pub fn python_rstrip(text: &str) -> &str {
    text.trim_end_matches(is_python_space)
}

/// Python 3's `str.isspace()` (Unicode 14 data, the same set since Unicode 6.3): Rust's
/// `char::is_whitespace` plus the four ASCII information separators U+001C..U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The class `[\{-\~\[-\` -\&\(-\+\:-\@\/]` of the first rule: ASCII punctuation and the
/// space, except `'`, `,`, `-` and `.`.
fn is_padded_symbol(c: u8) -> bool {
    matches!(c, b'{'..=b'~' | b'['..=b'`' | b' '..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/')
}

/// First rule: `([\{-\~\[-\` -\&\(-\+\:-\@\/])` -> `" \1 "`.
fn pad_symbols(line: &[u8], out: &mut Vec<u8>) {
    for &c in line {
        if is_padded_symbol(c) {
            out.extend_from_slice(&[b' ', c, b' ']);
        } else {
            out.push(c);
        }
    }
}

/// `re.sub` of a two-character pattern `(first)(second)` from `text` into `out`: scans
/// left to right and, where both match, writes the replacement and resumes after the pair.
fn replace_pairs(
    text: &[u8],
    out: &mut Vec<u8>,
    first: impl Fn(u8) -> bool,
    second: impl Fn(u8) -> bool,
    replace: impl Fn(u8, u8, &mut Vec<u8>),
) {
    out.clear();
    let mut i = 0;
    while i < text.len() {
        let a = text[i];
        if i + 1 < text.len() && first(a) && second(text[i + 1]) {
            replace(a, text[i + 1], out);
            i += 2;
        } else {
            out.push(a);
            i += 1;
        }
    }
}

/// `' '.join(text.split())`.
fn join_python_split(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for token in text.split(is_python_space).filter(|t| !t.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_punctuation_but_not_numbers() {
        assert_eq!(
            tokenize_13a("Hello, world! It costs $1,234.50 (today)."),
            "Hello , world ! It costs $ 1,234.50 ( today ) ."
        );
        assert_eq!(
            tokenize_13a("pages 10-20 and well-known"),
            "pages 10 - 20 and well-known"
        );
    }

    #[test]
    fn unescapes_entities_in_order() {
        assert_eq!(tokenize_13a("&quot;a&quot; &amp;lt;"), "\" a \" <");
        assert_eq!(tokenize_13a("&amp;quot;"), "& quot ;");
    }

    #[test]
    fn joins_hyphenated_line_breaks_and_drops_skipped() {
        assert_eq!(tokenize_13a("hyph-\nen <skipped>x"), "hyphen x");
    }

    #[test]
    fn python_whitespace_includes_information_separators() {
        assert_eq!(tokenize_13a("a\u{1c}b\u{a0}c\u{200b}d"), "a b c\u{200b}d");
        assert_eq!(python_rstrip("x \u{1f}\u{3000}\n"), "x");
    }
}
