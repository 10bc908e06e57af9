//! Reference-text metrics: ROUGE (as `rouge-score`) and BLEU (as `sacrebleu`).

mod bleu;
mod metric;
mod request;
mod rouge;
mod scorer;
mod tokenize_13a;

pub use bleu::*;
pub use metric::*;
pub use request::*;
pub use rouge::*;
pub use scorer::*;
pub use tokenize_13a::{python_rstrip, tokenize_13a};
