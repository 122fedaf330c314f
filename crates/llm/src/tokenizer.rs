//! Tokenization: Hugging Face `tokenizers` loaded from a `tokenizer.json`,
//! or built from GGUF metadata with the pre-tokenizer spelled out.

use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// A tokenizer plus the ids that end a generation.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    eos_ids: Vec<u32>,
}

impl TextTokenizer {
    /// Reads a `tokenizer.json`.
    pub fn from_file(path: &Path, eos_tokens: &[String]) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(Self::new(inner, eos_tokens))
    }

    /// Builds from the JSON of a `tokenizer.json`.
    pub fn from_json(value: &Value, eos_tokens: &[String]) -> Result<Self> {
        let bytes = serde_json::to_vec(value).map_err(Error::tokenizer)?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(Error::tokenizer)?;
        Ok(Self::new(inner, eos_tokens))
    }

    fn new(inner: tokenizers::Tokenizer, eos_tokens: &[String]) -> Self {
        let mut eos_ids: Vec<u32> =
            eos_tokens.iter().filter_map(|t| inner.token_to_id(t)).collect();
        eos_ids.sort_unstable();
        eos_ids.dedup();
        TextTokenizer { inner, eos_ids }
    }

    /// Token ids of `text`. `add_special_tokens` applies the tokenizer's
    /// post-processor (a BOS, for some models): true for raw prompts, false
    /// for rendered chat templates, which already hold their special tokens.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, add_special_tokens).map_err(Error::tokenizer)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(Error::tokenizer)
    }

    /// Adds ids that end a generation (from `generation_config.json`).
    pub fn add_eos_ids(&mut self, ids: &[u32]) {
        self.eos_ids.extend_from_slice(ids);
        self.eos_ids.sort_unstable();
        self.eos_ids.dedup();
    }

    /// Whether `id` ends a generation.
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos_ids.binary_search(&id).is_ok()
    }

    /// The ids that end a generation.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// The id of a token's text, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Tokens in the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// A special (control) token of a byte-level BPE vocabulary.
#[derive(Debug, Clone)]
pub struct SpecialToken {
    /// Its id.
    pub id: u32,
    /// Its text, matched whole before pre-tokenization.
    pub content: String,
}

/// The `tokenizer.json` of a GPT-2-style byte-level BPE whose pre-tokenizer
/// splits digits one by one and then applies byte-level splitting without a
/// prefix space: SmolLM2's (and StarCoder's) tokenizer. Built explicitly
/// because guessing it from GGUF's `tokenizer.ggml.pre` adds a leading space.
pub fn byte_level_bpe_json(
    tokens: &[String],
    merges: &[String],
    specials: &[SpecialToken],
) -> Value {
    let vocab: serde_json::Map<String, Value> =
        tokens.iter().enumerate().map(|(i, t)| (t.clone(), json!(i))).collect();
    let added: Vec<Value> = specials
        .iter()
        .map(|s| {
            json!({"id": s.id, "content": s.content, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges}
    })
}

/// GPT-2's map from bytes to the printable characters that stand for them
/// in byte-level vocabularies (`Ġ` for a space).
pub fn byte_level_alphabet() -> Vec<char> {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut extra = 0;
    (0..256u32)
        .map(|b| {
            let c = if printable(b) {
                b
            } else {
                extra += 1;
                255 + extra
            };
            char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TextTokenizer {
        let mut tokens: Vec<String> = vec!["<|im_start|>".into(), "<|im_end|>".into()];
        tokens.extend(byte_level_alphabet().iter().map(|c| c.to_string()));
        tokens.push("he".into());
        tokens.push("Ġw".into());
        let specials = vec![
            SpecialToken { id: 0, content: "<|im_start|>".into() },
            SpecialToken { id: 1, content: "<|im_end|>".into() },
        ];
        let json = byte_level_bpe_json(&tokens, &["h e".into(), "Ġ w".into()], &specials);
        TextTokenizer::from_json(&json, &["<|im_end|>".into()]).unwrap()
    }

    #[test]
    fn alphabet_maps_space_to_g_dot() {
        let a = byte_level_alphabet();
        assert_eq!(a[b' ' as usize], 'Ġ');
        assert_eq!(a[b'a' as usize], 'a');
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }

    #[test]
    fn merges_specials_and_digits_without_prefix_space() {
        let t = tiny();
        let he = t.token_to_id("he").unwrap();
        let gw = t.token_to_id("Ġw").unwrap();
        let ids = t.encode("<|im_start|>he w12<|im_end|>", false).unwrap();
        let one = t.token_to_id("1").unwrap();
        let two = t.token_to_id("2").unwrap();
        assert_eq!(ids, vec![0, he, gw, one, two, 1]);
        assert!(t.is_eos(1) && !t.is_eos(0));
        assert_eq!(t.decode(&ids).unwrap(), "he w12");
    }
}
