//! Sample generations during fine-tuning: at each evaluation, a few
//! held-out prompts are answered greedily with the adapter as it is then, so
//! a run shows what the model says, not only how its loss moves.
//!
//! A prompt and its reference come from a tokenized [`Example`] itself (the
//! tokens before its first answer, and that answer), so chat and
//! prompt/completion data need no second reader. Generation runs on the
//! inference model with the adapter folded in ([`merge::merged_model`]),
//! which keeps a KV cache and shares every unadapted weight with the base.

use serde_json::{json, Value};

use super::data::Example;
use crate::error::Result;
use crate::lora::{merge, Adapters};
use crate::model::{argmax, Llama};
use crate::tokenizer::TextTokenizer;

/// One held-out prompt and the answer the data gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePrompt {
    /// Tokens up to where the first answer starts (the generation prompt included).
    pub prompt_ids: Vec<u32>,
    /// The first answer's tokens.
    pub reference_ids: Vec<u32>,
}

impl SamplePrompt {
    /// The prompt and first answer of `example`; None if it has no answer.
    pub fn from_example(example: &Example) -> Option<SamplePrompt> {
        // labels[t] is the token after ids[..=t]; the first labelled t ends the prompt.
        let first = example.labels.iter().position(|&l| l >= 0)?;
        let reference_ids = example.labels[first..]
            .iter()
            .take_while(|&&l| l >= 0)
            .filter_map(|&l| u32::try_from(l).ok())
            .collect();
        Some(SamplePrompt { prompt_ids: example.ids[..=first].to_vec(), reference_ids })
    }
}

/// What to generate at each evaluation.
pub struct Samples<'a> {
    /// Decodes the generations and says which token ends them.
    pub tokenizer: &'a TextTokenizer,
    /// The prompts, answered in order.
    pub prompts: Vec<SamplePrompt>,
    /// Most tokens generated per prompt.
    pub max_tokens: usize,
}

impl<'a> Samples<'a> {
    /// The first `n` examples of `data` that have an answer.
    pub fn pick(
        tokenizer: &'a TextTokenizer,
        data: &[Example],
        n: usize,
        max_tokens: usize,
    ) -> Samples<'a> {
        let prompts = data.iter().filter_map(SamplePrompt::from_example).take(n).collect();
        Samples { tokenizer, prompts, max_tokens }
    }

    /// Answers every prompt greedily with `adapters` on `base`, as the JSON
    /// logged for `step`: `{"step", "samples": [{"prompt", "reference", "generation"}]}`.
    pub fn generate(&self, base: &Llama, adapters: &Adapters, step: usize) -> Result<Value> {
        let model = merge::merged_model(base, adapters)?;
        let context = model.config().max_position_embeddings;
        let mut out = Vec::with_capacity(self.prompts.len());
        for p in &self.prompts {
            let mut generated: Vec<u32> = Vec::new();
            let mut cache = model.new_cache();
            let mut input = p.prompt_ids.clone();
            while generated.len() < self.max_tokens && cache.len() + input.len() < context {
                let next = argmax(&model.forward_last(&input, &mut cache)?)?;
                if self.tokenizer.is_eos(next) {
                    break;
                }
                generated.push(next);
                input = vec![next];
            }
            out.push(json!({
                "prompt": self.tokenizer.decode(&p.prompt_ids)?,
                "reference": self.tokenizer.decode(&p.reference_ids)?,
                "generation": self.tokenizer.decode(&generated)?,
            }));
        }
        Ok(json!({"step": step, "samples": out}))
    }
}

/// Where the samples of optimizer step `step` are logged among the run's artifacts.
pub fn artifact_path(step: usize) -> String {
    format!("{SAMPLES_DIR}/step-{step:06}.json")
}

/// The run's artifact folder that holds one file of samples per evaluation.
pub const SAMPLES_DIR: &str = "samples";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_ends_where_the_first_answer_starts() {
        // ids: [p0 p1 a0 a1], the answer a0 a1 eos; a second turn after it.
        let e = Example { ids: vec![1, 2, 3, 4, 9, 8], labels: vec![-100, 3, 4, 5, -100, 7] };
        let p = SamplePrompt::from_example(&e).unwrap();
        assert_eq!(p.prompt_ids, vec![1, 2]);
        assert_eq!(p.reference_ids, vec![3, 4, 5]);
        let none = Example { ids: vec![1, 2], labels: vec![-100, -100] };
        assert_eq!(SamplePrompt::from_example(&none), None);
    }

    #[test]
    fn artifact_paths_sort_by_step() {
        assert_eq!(artifact_path(7), "samples/step-000007.json");
        assert!(artifact_path(99) < artifact_path(100));
    }
}
