"""The stock `openai` client against `lathe serve --llm`: chat (plain and
streamed), completions, models and an error, with the base URL in
OPENAI_BASE_URL and the served model's name in LATHE_MODEL. Ends with the line
"N passed, M failed" that the Rust test reads."""
import os
import sys

import openai

client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="unused", max_retries=0)
MODEL = os.environ["LATHE_MODEL"]
passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}")
    except Exception as e:  # report every failure, then go on
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def models():
    ids = [m.id for m in client.models.list()]
    assert ids == [MODEL], ids


def chat():
    r = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "the cat"}], max_tokens=8, temperature=0, seed=1
    )
    assert r.object == "chat.completion", r
    assert r.choices[0].message.role == "assistant"
    assert isinstance(r.choices[0].message.content, str)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert 1 <= r.usage.completion_tokens <= 8
    return r


def chat_stream():
    plain = chat()
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "the cat"}], max_tokens=8, temperature=0, seed=1,
        stream=True, stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert text == plain.choices[0].message.content, (text, plain.choices[0].message.content)
    assert finish == plain.choices[0].finish_reason
    assert usage is not None and usage.completion_tokens == plain.usage.completion_tokens


def n_choices():
    r = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=6, temperature=1.2, n=2, seed=5
    )
    assert [c.index for c in r.choices] == [0, 1]


def completion():
    r = client.completions.create(model=MODEL, prompt="the", max_tokens=5, temperature=0)
    assert r.object == "text_completion" and isinstance(r.choices[0].text, str)


def unknown_model():
    try:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    except openai.NotFoundError as e:
        assert e.status_code == 404 and e.body["code"] == "model_not_found", e.body
        return
    raise AssertionError("no error for an unknown model")


def bad_parameter():
    try:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], temperature=3)
    except openai.BadRequestError as e:
        assert e.status_code == 400 and e.body["param"] == "temperature", e.body
        return
    raise AssertionError("no error for temperature 3")


for name, fn in [("models", models), ("chat", chat), ("chat_stream", chat_stream), ("n_choices", n_choices),
                 ("completion", completion), ("unknown_model", unknown_model), ("bad_parameter", bad_parameter)]:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
