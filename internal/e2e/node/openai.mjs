// The official openai npm client, unmodified, against the gateway's
// /v1/chat/completions, /v1/responses and /v1/embeddings.
import OpenAI from "openai";
import { base, key, check, expectError, describe, done } from "./lib.mjs";

const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 20_000 });

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const say = (text) => [{ role: "user", content: text }];

await check("chat", async () => {
  const c = await client.chat.completions.create({ model: "gpt-4o-mini", messages: say("Say hello") });
  return { id: c.id, content: c.choices[0].message.content, finish: c.choices[0].finish_reason, usage: c.usage };
});

await check("chat stream with usage", async () => {
  const s = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: say("Say hello"),
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = "", chunks = 0, finish = null, usage = null;
  for await (const c of s) {
    chunks++;
    content += c.choices[0]?.delta?.content ?? "";
    finish = c.choices[0]?.finish_reason ?? finish;
    usage = c.usage ?? usage;
  }
  return { content, chunks, finish, usage };
});

await check("chat tools", async () => {
  const c = await client.chat.completions.create({ model: "gpt-4o-mini", messages: say("Weather in Oslo?"), tools: [weather] });
  const m = c.choices[0].message;
  return {
    finish: c.choices[0].finish_reason,
    tool_calls: m.tool_calls?.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
    usage: c.usage,
  };
});

// The SDK's stream helper assembles the tool call from its deltas.
await check("chat tools streamed", async () => {
  const s = client.chat.completions.stream({
    model: "gpt-4o-mini",
    messages: say("Weather in Oslo?"),
    tools: [weather],
    stream_options: { include_usage: true },
  });
  const c = await s.finalChatCompletion();
  return {
    finish: c.choices[0].finish_reason,
    tool_calls: c.choices[0].message.tool_calls?.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
    usage: c.usage,
  };
});

// Chat to a Claude model: translated by the gateway.
await check("chat to anthropic", async () => {
  const c = await client.chat.completions.create({ model: "claude-sonnet-4-5", messages: say("Say hello"), max_tokens: 64 });
  return { content: c.choices[0].message.content, finish: c.choices[0].finish_reason, usage: c.usage };
});

const summary = (r) => ({
  id: r.id,
  object: r.object,
  status: r.status,
  output_text: r.output_text,
  previous_response_id: r.previous_response_id ?? null,
  usage: r.usage,
});

let first;
await check("responses", async () => {
  first = await client.responses.create({ model: "gpt-4.1", input: "Say hello" });
  return summary(first);
});

await check("responses stream", async () => {
  const s = await client.responses.create({ model: "gpt-4.1", input: "Say hello", stream: true });
  const types = [];
  let text = "", final = null, seq = [];
  for await (const ev of s) {
    types.push(ev.type);
    seq.push(ev.sequence_number);
    if (ev.type === "response.output_text.delta") text += ev.delta;
    if (ev.type === "response.completed") final = ev.response;
  }
  return { types, sequence_numbers: seq, text, final: final && summary(final) };
});

// The SDK's ResponseStream checks every event against the response it
// builds (item ids, output and content indexes, each item done).
await check("responses stream helper", async () => {
  const r = await client.responses.stream({ model: "gpt-4.1", input: "Say hello" }).finalResponse();
  return summary(r);
});

await check("responses follow-up", async () => {
  if (!first) throw new Error("no first response");
  const r = await client.responses.create({ model: "gpt-4.1", input: "And now?", previous_response_id: first.id });
  return summary(r);
});

await check("responses retrieve", async () => {
  if (!first) throw new Error("no first response");
  return summary(await client.responses.retrieve(first.id));
});

await check("responses delete", async () => {
  if (!first) throw new Error("no first response");
  const deleted = await client.responses.delete(first.id);
  const after = await expectError(() => client.responses.retrieve(first.id));
  return { deleted: deleted ?? null, after: describe(after), not_found_error: after instanceof OpenAI.NotFoundError };
});

// The Responses API to a Claude model: translated from its chat answer.
await check("responses to anthropic", async () => summary(await client.responses.create({ model: "claude-sonnet-4-5", input: "Say hello" })));

await check("responses stream helper to anthropic", async () => {
  const s = client.responses.stream({
    model: "claude-sonnet-4-5",
    input: "Say hello",
    tools: [{ type: "function", name: "get_weather", parameters: weather.function.parameters, strict: false }],
  });
  const types = [];
  s.on("event", (ev) => types.push(ev.type));
  const r = await s.finalResponse();
  return {
    ...summary(r),
    types,
    calls: r.output.filter((o) => o.type === "function_call").map((o) => ({ call_id: o.call_id, name: o.name, arguments: o.arguments })),
  };
});

// The SDK asks for base64 and decodes it to numbers.
await check("embeddings", async () => {
  const e = await client.embeddings.create({ model: "text-embedding-3-small", input: ["alpha", "beta"] });
  return { vectors: e.data.map((d) => Array.from(d.embedding)), indexes: e.data.map((d) => d.index), usage: e.usage };
});

await check("wrong key", async () => {
  const bad = new OpenAI({ baseURL: `${base}/v1`, apiKey: "sk-gw-wrong", maxRetries: 0 });
  const err = await expectError(() => bad.chat.completions.create({ model: "gpt-4o-mini", messages: say("x") }));
  return { ...describe(err), authentication_error: err instanceof OpenAI.AuthenticationError };
});

done();
