#!/usr/bin/env python3
"""Writes the bundled tiny model directories under configs/models/ (config + tokenizer, no weights:
the quickstart initialises weights from run.seed).

  deberta-v3-tiny  DeBERTa-v3-style config (relative attention with log buckets, share_att_key,
                   [p2c, c2p], no absolute positions) sized to learn the synthetic set on a laptop CPU,
                   with a sentencepiece unigram tokenizer converted by transformers exactly as the
                   real deberta-v3 one is (spm.model -> tokenizer.json).

The tokenizer is trained on the text of a synthetic set, so every synthetic word is one piece:
  cargo run --release -p ranker-cli -- data synth --items 2000 --output /some/dir/synth.jsonl
  python3 configs/models/make_tiny_models.py /some/dir/synth.jsonl
Needs transformers and sentencepiece (pip). Versions used are recorded in configs/models/VERSIONS.
"""
import io
import json
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm
import transformers
from transformers import AutoTokenizer, DebertaV2Config

OUT = Path(__file__).resolve().parent


def corpus(path: Path):
    lines = []
    with open(path) as f:
        for line in f:
            item = json.loads(line)
            lines.append((item.get("instruction", "") + item["input"]).replace("\n", " "))
            lines.append(item["output"])
            lines.extend(c["text"] for c in item["candidates"])
    return lines


def tokenizer(lines, work: Path):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=256,
        hard_vocab_limit=False,
        model_type="unigram",
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        unk_piece="[UNK]",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    (work / "spm.model").write_bytes(model.getvalue())
    (work / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "DebertaV2Tokenizer"}))
    return AutoTokenizer.from_pretrained(work)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lines = corpus(Path(sys.argv[1]))
    with tempfile.TemporaryDirectory() as tmp:
        tok = tokenizer(lines, Path(tmp))
    config = DebertaV2Config(
        vocab_size=len(tok),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=256,
        type_vocab_size=0,
        initializer_range=0.02,
        layer_norm_eps=1e-7,
        relative_attention=True,
        max_relative_positions=-1,
        position_buckets=64,
        pad_token_id=0,
        position_biased_input=False,
        pos_att_type=["p2c", "c2p"],
        share_att_key=True,
        norm_rel_ebd="layer_norm",
    )
    out = OUT / "deberta-v3-tiny"
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    tok.save_pretrained(out)
    for extra in ["spm.model", "special_tokens_map.json", "added_tokens.json"]:
        (out / extra).unlink(missing_ok=True)
    words = sorted({w for line in lines for w in line.split()})
    pieces = [len(tok.tokenize(w)) for w in words]
    print(f"vocab {len(tok)}; {sum(p == 1 for p in pieces)}/{len(words)} words are one piece")
    (OUT / "VERSIONS").write_text(
        f"transformers {transformers.__version__}\nsentencepiece {spm.__version__}\n"
    )


if __name__ == "__main__":
    main()
