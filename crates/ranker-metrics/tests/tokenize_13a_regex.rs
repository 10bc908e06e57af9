//! The hand-written 13a scans against sacrebleu's regular expressions, run by the `regex`
//! crate, on many random strings drawn from the characters the rules care about.

use ranker_metrics::text::tokenize_13a;
use regex::Regex;

/// `TokenizerRegexp` + `Tokenizer13a` with the regexes of sacrebleu 2.6.0, verbatim.
struct RegexTokenizer13a {
    rules: Vec<(Regex, &'static str)>,
}

impl RegexTokenizer13a {
    fn new() -> Self {
        let rule = |pattern: &str, replacement| (Regex::new(pattern).unwrap(), replacement);
        RegexTokenizer13a {
            rules: vec![
                rule(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", " ${1} "),
                rule(r"([^0-9])([\.,])", "${1} ${2} "),
                rule(r"([\.,])([^0-9])", " ${1} ${2}"),
                rule(r"([0-9])(-)", "${1} ${2} "),
            ],
        }
    }

    fn tokenize(&self, line: &str) -> String {
        let mut line = line
            .replace("<skipped>", "")
            .replace("-\n", "")
            .replace('\n', " ");
        if line.contains('&') {
            line = line
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">");
        }
        let mut line = format!(" {line} ");
        for (re, replacement) in &self.rules {
            line = re.replace_all(&line, *replacement).into_owned();
        }
        // Python's str.split(): Rust's whitespace plus U+001C..U+001F.
        line.split(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[test]
fn scans_match_the_regexes_on_random_strings() {
    let alphabet: Vec<&str> = vec![
        "a",
        "Z",
        "0",
        "7",
        ".",
        ",",
        "-",
        " ",
        "\n",
        "\t",
        "'",
        "\"",
        "&",
        ";",
        "(",
        ")",
        "{",
        "~",
        "[",
        "`",
        "/",
        ":",
        "@",
        "!",
        "$",
        "%",
        "+",
        "*",
        "<",
        ">",
        "=",
        "?",
        "^",
        "_",
        "|",
        "\\",
        "é",
        "中",
        "\u{a0}",
        "\u{1c}",
        "\u{2028}",
        "\u{0301}",
        "&quot;",
        "&amp;",
        "&lt;",
        "&gt;",
        "<skipped>",
        "-\n",
        "1,000",
        "3.14",
        "e.g.",
    ];
    let reference = RegexTokenizer13a::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..20_000 {
        let len = rng.below(24);
        let text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        assert_eq!(
            tokenize_13a(&text),
            reference.tokenize(&text),
            "case {case}: {text:?}"
        );
    }
}
