//! `ranker data synth`: a deterministic, learnable synthetic MixInstruct-format set.
//!
//! Each item asks to shorten a list of words; the reference output keeps most of them in order. Each candidate
//! comes from a named synthetic "model" with a quality level: a good candidate copies the reference words in
//! order, a poor one drops and swaps words, swaps in unrelated words and inserts junk tokens from a separate junk
//! vocabulary. Quality is therefore visible in the text itself (junk tokens, overlap with the source), which a
//! tiny cross-encoder learns quickly, and the metric scores — ROUGE-1/2/L/Lsum and BLEU from `ranker-metrics`,
//! against the reference — follow it. A per-item jitter on each model's quality keeps the best model from being
//! the same on every item.
//!
//! Every item is drawn from its own ChaCha8 stream (seed, item index), so the set is the same for a seed whatever
//! the thread count, and items are generated in parallel.

mod generate;
mod options;
mod verdicts;
mod vocab;

pub use generate::{synth_file, synth_item, synth_items, Synthesizer, SYNTH_METRICS};
pub use options::{SynthModel, SynthOptions};
