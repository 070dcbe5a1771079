// The official @anthropic-ai/sdk client, unmodified, against the gateway's
// /v1/messages and /v1/messages/count_tokens.
import Anthropic from "@anthropic-ai/sdk";
import { base, key, check, expectError, describe, done } from "./lib.mjs";

// The key goes out as x-api-key, as an SDK user configures it.
const client = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 20_000 });

const weather = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const say = (text) => [{ role: "user", content: text }];
const summary = (m) => ({
  id: m.id,
  type: m.type,
  role: m.role,
  model: m.model,
  content: m.content,
  stop_reason: m.stop_reason,
  usage: m.usage,
});

await check("messages.create", async () =>
  summary(await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 256, system: "Be brief.", messages: say("Say hello") })),
);

// To an OpenAI model: translated by the gateway.
await check("messages.create to openai", async () =>
  summary(await client.messages.create({ model: "gpt-4o-mini", max_tokens: 256, messages: say("Say hello") })),
);

// The SDK's MessageStream folds every event into the final message.
await check("messages.stream", async () => {
  const s = client.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 256, messages: say("Say hello"), tools: [weather] });
  const types = [];
  s.on("streamEvent", (ev) => types.push(ev.type));
  const m = await s.finalMessage();
  return { ...summary(m), types };
});

await check("messages.stream to openai", async () => {
  const s = client.messages.stream({ model: "gpt-4o-mini", max_tokens: 256, messages: say("Say hello") });
  const types = [];
  let text = "";
  s.on("streamEvent", (ev) => types.push(ev.type));
  s.on("text", (delta) => (text += delta));
  const m = await s.finalMessage();
  return { ...summary(m), types, text };
});

await check("tools", async () => {
  const m = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 256, messages: say("Weather in Paris?"), tools: [weather] });
  const use = m.content.find((b) => b.type === "tool_use");
  // The tool's result goes back in the next turn, here to an OpenAI model.
  const next = await client.messages.create({
    model: "gpt-4o-mini",
    max_tokens: 256,
    tools: [weather],
    messages: [
      ...say("Weather in Paris?"),
      { role: "assistant", content: m.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use?.id, content: "18°C and sunny" }] },
    ],
  });
  return { ...summary(m), next: summary(next) };
});

await check("countTokens", async () => {
  const native = await client.messages.countTokens({ model: "claude-sonnet-4-5", messages: say("Say hello") });
  const { data, response } = await client.messages
    .countTokens({ model: "gpt-4o-mini", messages: say("Say hello to everyone here") })
    .withResponse();
  return { native, estimate: data, estimate_header: response.headers.get("x-gateway-token-count") };
});

await check("not found", async () => {
  const err = await expectError(() => client.messages.create({ model: "claude-does-not-exist", max_tokens: 16, messages: say("x") }));
  return { ...describe(err), not_found_error: err instanceof Anthropic.NotFoundError };
});

await check("wrong key", async () => {
  const bad = new Anthropic({ baseURL: base, apiKey: "sk-gw-wrong", maxRetries: 0 });
  const err = await expectError(() => bad.messages.create({ model: "claude-sonnet-4-5", max_tokens: 16, messages: say("x") }));
  return { ...describe(err), authentication_error: err instanceof Anthropic.AuthenticationError };
});

done();
