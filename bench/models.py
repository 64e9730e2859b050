"""Full-size random-weight BLIP-base and ViT-GPT2 checkpoints, built offline.

Random weights cost exactly the compute of the real ones (same shapes, same
number of decoding steps once min_length = max_length), so the caption
benchmark needs no download. The architectures match the checkpoints the
product uses:

* Salesforce/blip-image-captioning-base: ViT-B/16 vision tower at 384 px
  (768 wide, 12 layers, 12 heads), BERT-base text decoder (768 wide, 12
  layers, 12 heads, vocabulary 30524): ``BlipConfig()``'s defaults, except
  that its text decoder defaults to 8 heads.
* nlpconnect/vit-gpt2-image-captioning: ViT-B/16 at 224 px (``ViTConfig()``)
  and GPT-2 small with cross-attention (``GPT2Config()``, vocabulary 50257).

The tokenizers are built offline with the full vocabulary size (a handful of
words, the special tokens at their real ids, filler tokens for the rest), so
every id the random model emits decodes. The folders are saved once under
``bench/.models/`` and loaded through ``from_pretrained`` like real weights.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models import WORDS, _byte_level_bpe

MODELS_DIR = Path(__file__).resolve().parent / ".models"
BLIP_DIR = MODELS_DIR / "blip-base-random"
VIT_GPT2_DIR = MODELS_DIR / "vit-gpt2-random"
BLIP_VOCAB = 30524
GPT2_VOCAB = 50257


def _ready(folder: Path) -> bool:
    return (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()


def _blip_current(folder: Path) -> bool:
    """A BLIP folder built with this module's settings (older builds are built again)."""
    import json

    config = json.loads((folder / "config.json").read_text())
    return (
        config.get("text_config", {}).get("num_attention_heads") == 12
        and config.get("vision_config", {}).get("initializer_range") == VISION_INIT
    )


# BlipVisionConfig draws its weights with a spread of 1e-10: every photo's embedding is then zero,
# the cross-attention keys and values constant and the captions blind to the photo, so a check of
# ids could not see an error there. 0.02, as the text decoder and ViT use, makes the photo count.
VISION_INIT = 0.02


def build_blip(folder: Path = BLIP_DIR) -> Path:
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    if _ready(folder) and _blip_current(folder):
        return folder
    config = BlipConfig(
        text_config={"num_attention_heads": 12}, vision_config={"initializer_range": VISION_INIT}
    )
    vision, text = config.vision_config, config.text_config
    assert (vision.hidden_size, vision.num_hidden_layers, vision.num_attention_heads) == (768, 12, 12)
    assert (vision.image_size, vision.patch_size) == (384, 16)
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (768, 12, 12)
    assert (text.vocab_size, text.bos_token_id, text.sep_token_id) == (BLIP_VOCAB, 30522, 102)
    # bert-base-uncased's layout: [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103; BLIP adds
    # [DEC]=30522 (the decoder's start token) and [ENC]=30523.
    tokens = [f"[unused{i}]" for i in range(BLIP_VOCAB)]
    for i, special in {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}.items():
        tokens[i] = special
    tokens[104 : 104 + len(WORDS)] = WORDS
    tokens[30522], tokens[30523] = "[DEC]", "[ENC]"
    tokenizer = BertTokenizer(
        vocab={t: i for i, t in enumerate(tokens)}, bos_token="[DEC]", model_max_length=512
    )
    processor = BlipProcessor(image_processor=BlipImageProcessor(), tokenizer=tokenizer)
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_vit_gpt2(folder: Path = VIT_GPT2_DIR) -> Path:
    import torch
    from transformers import (
        GPT2Config,
        GPT2Tokenizer,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    if _ready(folder):
        return folder
    encoder, decoder = ViTConfig(), GPT2Config(add_cross_attention=True, is_decoder=True)
    assert (encoder.hidden_size, encoder.num_hidden_layers, encoder.image_size) == (768, 12, 224)
    assert (encoder.num_attention_heads, encoder.patch_size, decoder.n_head) == (12, 16, 12)
    assert (decoder.n_embd, decoder.n_layer, decoder.vocab_size) == (768, 12, GPT2_VOCAB)
    # A byte-level BPE that spells the words; fillers up to GPT-2's size; <|endoftext|> at 50256.
    vocab, merges = _byte_level_bpe(WORDS)
    tokens = [t for t in vocab if t != "<|endoftext|>"]
    tokens += [f"Ġfill{i}" for i in range(GPT2_VOCAB - 1 - len(tokens))]
    tokens.append("<|endoftext|>")
    tokenizer = GPT2Tokenizer(
        vocab={t: i for i, t in enumerate(tokens)}, merges=merges, model_max_length=1024
    )
    eos = GPT2_VOCAB - 1
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = config.pad_token_id = config.eos_token_id = eos
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config=config).eval()
    for key in ("decoder_start_token_id", "pad_token_id", "eos_token_id"):
        setattr(model.generation_config, key, eos)
    model.save_pretrained(folder)
    ViTImageProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_all() -> dict[str, Path]:
    return {"blip": build_blip(), "vit_gpt2": build_vit_gpt2()}


if __name__ == "__main__":
    for kind, path in build_all().items():
        print(kind, path)
