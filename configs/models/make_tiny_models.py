#!/usr/bin/env python3
"""Writes the bundled tiny model directories under configs/models/ (config + tokenizer, no weights:
the quickstart initialises weights from run.seed).

  deberta-v3-tiny  DeBERTa-v3-style config (relative attention with log buckets, share_att_key,
                   [p2c, c2p], no absolute positions) sized to learn the synthetic set on a laptop CPU,
                   with a sentencepiece unigram tokenizer converted by transformers exactly as the
                   real deberta-v3 one is (spm.model -> tokenizer.json).
  flan-t5-tiny     a flan-t5-style T5 encoder config (gated-gelu feed-forward, relative attention
                   buckets, RMS norms) with a T5-layout Unigram tokenizer (<pad> </s> <unk>, pieces,
                   <extra_id_*> sentinels; Metaspace; `</s>` appended, no CLS), built through
                   transformers' T5Tokenizer like the real one.

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
from sentencepiece import sentencepiece_model_pb2
from transformers import AutoTokenizer, DebertaV2Config, T5Config, T5Tokenizer

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


def t5_tokenizer(lines):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=256,
        hard_vocab_limit=False,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    extra_ids = 4
    vocab = [(p.piece, 0.0 if i < 3 else p.score) for i, p in enumerate(proto.pieces)]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
    return T5Tokenizer(
        vocab=vocab,
        extra_ids=extra_ids,
        _spm_precompiled_charsmap=proto.normalizer_spec.precompiled_charsmap,
    )


def flan_t5_tiny(lines):
    tok = t5_tokenizer(lines)
    config = T5Config(
        vocab_size=len(tok),
        d_model=64,
        d_kv=16,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.0,
        # T5's init (embeddings N(0, factor), relative bias N(0, factor / sqrt(d_model)), ...) is made for
        # Adafactor's relative steps; with AdamW's absolute steps at the quickstart's lr, factor 1 leaves a
        # from-scratch PairRanker at chance after an epoch (measured; presumably its markers do not learn in
        # time to attend to their own segment). 0.1 makes the same steps ten times larger relative to the weights.
        initializer_factor=0.1,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    config.architectures = ["T5ForConditionalGeneration"]
    out = OUT / "flan-t5-tiny"
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    tok.save_pretrained(out)
    for extra in ["spiece.model", "special_tokens_map.json", "added_tokens.json"]:
        (out / extra).unlink(missing_ok=True)
    return tok


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
    t5 = flan_t5_tiny(lines)
    pieces = [len(t5.tokenize(w)) for w in words]
    print(f"flan-t5-tiny: vocab {len(t5)}; {sum(p == 1 for p in pieces)}/{len(words)} words are one piece")
    (OUT / "VERSIONS").write_text(
        f"transformers {transformers.__version__}\nsentencepiece {spm.__version__}\n"
    )


if __name__ == "__main__":
    main()
