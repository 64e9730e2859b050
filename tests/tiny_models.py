"""Tiny random captioning models, built offline and saved like real weights.

Tests, integration tests and benchmarks load them through the same
``from_pretrained`` path as the real BLIP and ViT-GPT2 checkpoints, so the
loading code is exercised without a download. Their captions are random
words from a small vocabulary.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    *("a", "cat", "dog", "sitting", "on", "the", "sofa", "cup", "of", "coffee", "table", "with"),
    *("person", "standing", "next", "to", "rocket", "launch", "sky", "at", "night", "picture"),
    *("photo", "small", "large", "black", "white", "red", "brown"),
)
IMAGE_SIZE = 32
PATCH_SIZE = 8
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 37}


def build_tiny_blip(path: str | Path) -> Path:
    """Save a tiny random BLIP captioner (model, image processor, BERT
    WordPiece tokenizer) into ``path`` and return it."""
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    path = Path(path)
    # Same special-token layout as the real checkpoint: BERT specials first,
    # then [DEC] as the decoder's start token.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: i for i, token in enumerate([*specials, *WORDS, "[DEC]"])}
    tokenizer = BertTokenizer(vocab=vocab, bos_token="[DEC]", model_max_length=64)
    image_processor = BlipImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    config = BlipConfig(
        text_config={
            **TINY,
            "vocab_size": len(vocab),
            "max_position_embeddings": 64,
            "pad_token_id": vocab["[PAD]"],
            "bos_token_id": vocab["[DEC]"],
            "eos_token_id": vocab["[SEP]"],
            "sep_token_id": vocab["[SEP]"],
        },
        # BlipVisionConfig draws its weights with a spread of 1e-10, which makes every photo's
        # embedding zero and the captions blind to the photo; 0.02 is what the text side uses.
        vision_config={**TINY, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE, "initializer_range": 0.02},
        projection_dim=32,
    )
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    model.save_pretrained(path)
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return path


def _byte_level_bpe(words: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A GPT-2 style byte-level BPE vocabulary where each word (with its
    leading space, spelled "Ġ") is reachable through left-to-right merges."""
    tokens = ["<|endoftext|>", "Ġ", *sorted({ch for word in words for ch in word})]
    merges = []
    for word in words:
        piece = "Ġ"
        for ch in word:
            merge = (piece, ch)
            piece += ch
            if piece not in tokens:
                tokens.append(piece)
                merges.append(merge)
    return {token: i for i, token in enumerate(tokens)}, merges


def build_tiny_vit_gpt2(path: str | Path) -> Path:
    """Save a tiny random ViT encoder + GPT-2 decoder captioner (model, ViT
    image processor, byte-level BPE tokenizer) into ``path`` and return it."""
    import torch
    from transformers import (
        GPT2Config,
        GPT2Tokenizer,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    path = Path(path)
    vocab, merges = _byte_level_bpe(WORDS)
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, model_max_length=64)
    eos = vocab["<|endoftext|>"]
    image_processor = ViTImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    encoder = ViTConfig(**TINY, image_size=IMAGE_SIZE, patch_size=PATCH_SIZE)
    decoder = GPT2Config(
        vocab_size=len(vocab),
        n_positions=64,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
        add_cross_attention=True,
        is_decoder=True,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    # As in the real checkpoint, GPT-2's end-of-text token starts, pads and ends a caption.
    config.decoder_start_token_id = eos
    config.pad_token_id = eos
    config.eos_token_id = eos
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config=config).eval()
    model.generation_config.decoder_start_token_id = eos
    model.generation_config.pad_token_id = eos
    model.generation_config.eos_token_id = eos
    model.save_pretrained(path)
    image_processor.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
