//! Fine-tuning data: the loss falls on assistant tokens only, prompt/completion
//! lines, truncation counted, malformed lines refused by line number or skipped.

use lathe_llm::train::data::{collate, read_jsonl, DataOptions};
use lathe_llm::{load_path, tiny, Engine, Error};

fn tiny_engine(dir: &std::path::Path) -> lathe_llm::LoadedModel {
    tiny::write_hf_folder(&dir.join("m"), 1, 1).unwrap();
    load_path(&dir.join("m")).unwrap()
}

const OPTS: DataOptions = DataOptions { max_seq_len: 256, skip_bad_lines: false };

#[test]
fn only_assistant_turns_carry_a_loss() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_engine(dir.path());
    let data = dir.path().join("train.jsonl");
    std::fs::write(
        &data,
        r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "the cat"}, {"role": "user", "content": "more"}, {"role": "assistant", "content": "the end"}]}
{"prompt": "2+2=", "completion": "4"}
"#,
    )
    .unwrap();
    let (tok, tpl) = (m.engine.tokenizer(), m.engine.chat_template());
    let (ex, stats) = read_jsonl(&data, tok, tpl, OPTS).unwrap();
    assert_eq!(stats.examples, 2);
    // The answers, as the labels spell them: each assistant turn with its end-of-turn.
    let answer = |e: &lathe_llm::train::data::Example| -> Vec<u32> {
        e.labels.iter().filter(|&&l| l >= 0).map(|&l| l as u32).collect()
    };
    let full = tpl
        .unwrap()
        .render(
            &[
                lathe_llm::ChatMessage::new("user", "hi"),
                lathe_llm::ChatMessage::new("assistant", "the cat"),
                lathe_llm::ChatMessage::new("user", "more"),
                lathe_llm::ChatMessage::new("assistant", "the end"),
            ],
            false,
        )
        .unwrap();
    let mut all_ids = ex[0].ids.clone();
    all_ids.push(*ex[0].labels.last().unwrap() as u32);
    assert_eq!(
        tok.decode(&all_ids).unwrap(),
        full.replace("<|im_start|>", "").replace("<|im_end|>", "")
    );
    let expected = [
        tok.encode("the cat<|im_end|>\n", false).unwrap(),
        tok.encode("the end<|im_end|>\n", false).unwrap(),
    ]
    .concat();
    assert_eq!(answer(&ex[0]), expected);
    assert_eq!(stats.target_tokens, expected.len() + ex[1].target_tokens());
    // Labels are the next token wherever they are set.
    for (t, &l) in ex[0].labels.iter().enumerate() {
        if l >= 0 {
            assert_eq!(l as u32, all_ids[t + 1]);
        }
    }
    let mut pc = tok.encode("4", false).unwrap();
    pc.push(1); // <|im_end|>, the tiny model's end of sequence
    assert_eq!(answer(&ex[1]), pc);
    let (ids, labels) = collate(&[&ex[0], &ex[1]], 0, &candle_core::Device::Cpu).unwrap();
    assert_eq!(ids.dims(), &[2, ex[0].ids.len()]);
    assert_eq!(labels.len(), 2 * ex[0].ids.len());
    assert!(labels[ex[0].ids.len() + ex[1].ids.len()..].iter().all(|&l| l == -100));
}

#[test]
fn long_conversations_are_truncated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_engine(dir.path());
    let data = dir.path().join("train.jsonl");
    let long = "the ".repeat(100);
    std::fs::write(
        &data,
        format!(
            "{{\"messages\": [{{\"role\": \"user\", \"content\": \"hi\"}}, {{\"role\": \"assistant\", \"content\": \"{long}\"}}]}}\n{{\"messages\": [{{\"role\": \"user\", \"content\": \"{long}\"}}, {{\"role\": \"assistant\", \"content\": \"x\"}}]}}\n{{\"prompt\": \"a\", \"completion\": \"b\"}}\n"
        ),
    )
    .unwrap();
    let opts = DataOptions { max_seq_len: 128, skip_bad_lines: false };
    let (ex, stats) =
        read_jsonl(&data, m.engine.tokenizer(), m.engine.chat_template(), opts).unwrap();
    assert_eq!(stats.truncated, 2);
    // The second one lost its whole answer to truncation.
    assert_eq!(stats.dropped_without_answer, 1);
    assert_eq!(stats.examples, 2);
    assert_eq!(ex[0].ids.len(), 127);
}

#[test]
fn malformed_lines_are_refused_by_line_or_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_engine(dir.path());
    let data = dir.path().join("bad.jsonl");
    std::fs::write(
        &data,
        "{\"prompt\": \"a\", \"completion\": \"b\"}\n\n{not json\n{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}\n{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n",
    )
    .unwrap();
    let (tok, tpl) = (m.engine.tokenizer(), m.engine.chat_template());
    let e = read_jsonl(&data, tok, tpl, OPTS).unwrap_err();
    assert!(matches!(e, Error::Data { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("bad.jsonl:3: not valid JSON"), "{e}");
    let opts = DataOptions { max_seq_len: 256, skip_bad_lines: true };
    let (ex, stats) = read_jsonl(&data, tok, tpl, opts).unwrap();
    assert_eq!((ex.len(), stats.skipped_bad_lines), (1, 3));
    // The errors name what is wrong.
    std::fs::write(&data, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n").unwrap();
    let e = read_jsonl(&data, tok, tpl, OPTS).unwrap_err().to_string();
    assert!(e.contains(":1: messages[0].role 'robot'"), "{e}");
}
