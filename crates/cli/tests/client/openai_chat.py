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
    want = [MODEL] + ([os.environ["LATHE_EMBED_MODEL"]] if os.environ.get("LATHE_EMBED_MODEL") else [])
    assert ids == want, ids


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


def embeddings():
    # The client asks for base64 unless told otherwise, and decodes it.
    model = os.environ["LATHE_EMBED_MODEL"]
    r = client.embeddings.create(model=model, input=["The cat sits on the mat.", "A kitten is resting on a rug."])
    a, b = r.data[0].embedding, r.data[1].embedding
    assert len(a) == 384 and abs(sum(x * x for x in a) - 1) < 1e-4
    # sentence-transformers 6.2.0 gives 0.641133 for this pair.
    cos = sum(x * y for x, y in zip(a, b))
    assert abs(cos - 0.641133) < 1e-4, cos
    floats = client.embeddings.create(model=model, input="The cat sits on the mat.", encoding_format="float")
    assert max(abs(x - y) for x, y in zip(floats.data[0].embedding, a)) < 1e-6


checks = [("models", models), ("chat", chat), ("chat_stream", chat_stream), ("n_choices", n_choices),
          ("completion", completion), ("unknown_model", unknown_model), ("bad_parameter", bad_parameter)]
if os.environ.get("LATHE_EMBED_MODEL"):
    checks.append(("embeddings", embeddings))
for name, fn in checks:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
