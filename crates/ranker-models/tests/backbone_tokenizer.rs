//! `tokenizer.json` loaded with the `tokenizers` crate gives the same ids (and token type ids) as
//! transformers' tokenizer for every fixture text and pair, and adding the ranker markers matches
//! `tokenizer.add_tokens([...])`.

mod common;

use common::{cases, fixtures, MODELS};
use ranker_models::{add_marker_tokens, load_tokenizer, tokenizer_len};

#[test]
fn ids_match_transformers() {
    for model in MODELS {
        let tokenizer = load_tokenizer(&fixtures().join(model)).unwrap();
        for case in cases(model).tokenizer {
            let encoding = match &case.text_pair {
                Some(pair) => tokenizer.encode((case.text.as_str(), pair.as_str()), true),
                None => tokenizer.encode(case.text.as_str(), true),
            }
            .unwrap();
            assert_eq!(
                encoding.get_ids(),
                &case.ids[..],
                "{model}: {:?}",
                case.text
            );
            if let Some(type_ids) = &case.type_ids {
                assert_eq!(
                    encoding.get_type_ids(),
                    &type_ids[..],
                    "{model}: {:?}",
                    case.text
                );
            }
        }
    }
}

#[test]
fn marker_tokens_match_add_tokens() {
    for model in ["deberta-v3-tiny", "xlm-roberta-tiny", "t5-tiny"] {
        marker_tokens(model);
    }
}

fn marker_tokens(model: &str) {
    let expected = cases(model)
        .marker_tokens
        .expect("fixture has marker cases");
    let mut tokenizer = load_tokenizer(&fixtures().join(model)).unwrap();
    assert_eq!(tokenizer_len(&tokenizer), expected.len_before);
    let markers: Vec<&str> = expected.markers.iter().map(String::as_str).collect();
    let ids = add_marker_tokens(&mut tokenizer, &markers);
    assert_eq!(ids, expected.marker_ids);
    assert_eq!(tokenizer_len(&tokenizer), expected.len_after);
    assert_eq!(expected.len_after - expected.len_before, expected.n_added);
    for (text, want) in expected.texts.iter().zip(&expected.ids) {
        let got = tokenizer.encode(text.as_str(), true).unwrap();
        assert_eq!(got.get_ids(), &want[..], "{model}: {text:?}");
    }
    // Adding them again changes nothing.
    assert_eq!(
        add_marker_tokens(&mut tokenizer, &markers),
        expected.marker_ids
    );
    assert_eq!(tokenizer_len(&tokenizer), expected.len_after);
}

#[test]
fn missing_tokenizer_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_tokenizer(dir.path()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}
