//! The synthetic set's word lists: small, so tiny tokenizers cover them.

/// Ordinary words the inputs and references are made of.
pub(super) const CONTENT_WORDS: [&str; 120] = [
    "apple", "river", "stone", "cloud", "garden", "window", "bread", "candle", "forest", "mirror",
    "ladder", "pencil", "bottle", "basket", "bridge", "castle", "dragon", "feather", "guitar",
    "hammer", "island", "jacket", "kettle", "lemon", "meadow", "needle", "orange", "pillow",
    "rabbit", "saddle", "tiger", "violin", "wagon", "yellow", "zebra", "anchor", "butter",
    "carpet", "desert", "engine", "falcon", "glacier", "harbor", "igloo", "jungle", "kitten",
    "lantern", "marble", "nectar", "oyster", "parrot", "quilt", "rocket", "silver", "tunnel",
    "umbrella", "valley", "walnut", "yogurt", "blue", "green", "quiet", "rapid", "gentle",
    "bright", "heavy", "narrow", "golden", "frozen", "ancient", "tiny", "huge", "soft", "sharp",
    "warm", "cold", "early", "late", "happy", "brave", "calm", "eager", "fancy", "jolly", "lucky",
    "proud", "wise", "runs", "jumps", "sings", "builds", "carries", "paints", "reads", "writes",
    "climbs", "swims", "opens", "finds", "holds", "watches", "follows", "cooks", "plants",
    "counts", "sleeps", "waves", "brings", "shares", "draws", "fixes", "sells", "teaches",
    "visits", "near", "under", "across", "beside", "over", "inside",
];

/// Tokens no real text contains; poor candidates are padded with them.
pub(super) const JUNK_WORDS: [&str; 32] = [
    "zqx", "vrk", "kzz", "qwv", "xjt", "pff", "zzt", "grx", "bzq", "wqk", "jxv", "tkz", "qqr",
    "vxw", "kjq", "zvb", "xqp", "fjz", "wzx", "qxk", "rzv", "jjq", "vqz", "xkw", "zpk", "kvx",
    "qzj", "bxq", "zwr", "xzv", "qvk", "jzx",
];

/// Instructions; the empty one mirrors MixInstruct items whose question is all in `input`. Each non-empty one
/// ends in a newline because the source is `instruction + input` with no separator.
pub(super) const INSTRUCTIONS: [&str; 5] = [
    "",
    "Shorten the following list of words.\n",
    "Keep the important words of this text.\n",
    "Summarize these words briefly.\n",
    "Rewrite the text with fewer words.\n",
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn word_lists_are_distinct_lowercase_and_disjoint() {
        let content: HashSet<_> = CONTENT_WORDS.iter().collect();
        let junk: HashSet<_> = JUNK_WORDS.iter().collect();
        assert_eq!(content.len(), CONTENT_WORDS.len());
        assert_eq!(junk.len(), JUNK_WORDS.len());
        assert!(content.is_disjoint(&junk));
        for word in CONTENT_WORDS.iter().chain(&JUNK_WORDS) {
            assert!(word.chars().all(|c| c.is_ascii_lowercase()), "{word}");
        }
    }
}
