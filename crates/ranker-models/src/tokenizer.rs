//! Loading `tokenizer.json` and adding the rankers' marker tokens.

use std::path::{Path, PathBuf};

use tokenizers::{AddedToken, Tokenizer};

use crate::error::LoadError;

/// Loads `tokenizer.json` from a model directory or from the file itself.
///
/// Padding and truncation stored in the file are switched off, as transformers does for a call
/// without `padding=`/`truncation=` arguments (e.g. all-MiniLM-L6-v2's file pads to 128); callers
/// lay out batches themselves.
pub fn load_tokenizer(dir_or_file: &Path) -> Result<Tokenizer, LoadError> {
    let path: PathBuf = if dir_or_file.is_dir() {
        dir_or_file.join("tokenizer.json")
    } else {
        dir_or_file.to_path_buf()
    };
    if !path.is_file() {
        return Err(LoadError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let mut tokenizer =
        Tokenizer::from_file(&path).map_err(|source| LoadError::Tokenizer { path, source })?;
    tokenizer.with_padding(None);
    // `with_truncation(None)` cannot fail: only a `Some` stride is validated.
    let _ = tokenizer.with_truncation(None);
    Ok(tokenizer)
}

/// Adds `tokens` as normal (non-special, normalized) added tokens, as LLM-Blender's collators do with
/// `tokenizer.add_tokens([...])`, and returns their ids in order. Tokens the tokenizer already has
/// keep their ids; new ones get the next ids after the current vocabulary.
///
/// Afterwards resize the model's embeddings to [`tokenizer_len`].
pub fn add_marker_tokens(tokenizer: &mut Tokenizer, tokens: &[&str]) -> Vec<u32> {
    let added: Vec<AddedToken> = tokens
        .iter()
        .map(|t| AddedToken::from(t.to_string(), false))
        .collect();
    tokenizer.add_tokens(&added);
    tokens
        .iter()
        .map(|t| {
            tokenizer
                .token_to_id(t)
                .expect("a token just added to the vocabulary has an id")
        })
        .collect()
}

/// `len(tokenizer)` in transformers: the vocabulary plus the added tokens; the embedding size to
/// resize to after [`add_marker_tokens`].
pub fn tokenizer_len(tokenizer: &Tokenizer) -> usize {
    tokenizer.get_vocab_size(true)
}
