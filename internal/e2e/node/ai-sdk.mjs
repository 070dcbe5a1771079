// The Vercel AI SDK (ai, @ai-sdk/openai, @ai-sdk/openai-compatible),
// unmodified, against the gateway: openai("model") calls the Responses API,
// createOpenAICompatible the Chat Completions API.
import { generateText, streamText, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { z } from "zod";
import { base, key, check, done } from "./lib.mjs";

const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: key });
const compatible = createOpenAICompatible({ name: "gateway", baseURL: `${base}/v1`, apiKey: key, includeUsage: true });

const tools = {
  get_weather: tool({ description: "The weather in a city", inputSchema: z.object({ city: z.string() }) }),
};
const usage = (u) => ({ inputTokens: u?.inputTokens, outputTokens: u?.outputTokens, totalTokens: u?.totalTokens });
const calls = (cs) => cs.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input }));

async function generate(model, extra = {}) {
  const r = await generateText({ model, prompt: "Say hello", maxRetries: 0, ...extra });
  return {
    text: r.text,
    finishReason: r.finishReason,
    usage: usage(r.usage),
    toolCalls: calls(r.toolCalls),
    responseId: r.response?.id,
    modelId: r.response?.modelId,
  };
}

// stream reads the whole stream; an error part (which streamText otherwise
// only hands to onError) fails the check.
async function stream(model, extra = {}) {
  const r = streamText({ model, prompt: "Say hello", maxRetries: 0, ...extra });
  const parts = [];
  let text = "";
  for await (const p of r.fullStream) {
    parts.push(p.type);
    if (p.type === "error") throw p.error instanceof Error ? p.error : new Error(JSON.stringify(p.error));
    if (p.type === "text-delta") text += p.text;
  }
  return {
    text,
    parts,
    finishReason: await r.finishReason,
    usage: usage(await r.usage),
    toolCalls: calls(await r.toolCalls),
    responseId: (await r.response)?.id,
  };
}

let first;
await check("generateText responses", async () => (first = await generate(openai("gpt-4.1"))));
// A follow-up that sends only the new turn and names the first response.
await check("generateText responses follow-up", () => {
  if (!first?.responseId) throw new Error("no first response id");
  return generate(openai("gpt-4.1"), { prompt: "And now?", providerOptions: { openai: { previousResponseId: first.responseId } } });
});
await check("streamText responses", () => stream(openai("gpt-4.1")));
// A Claude model through the Responses API: translated by the gateway.
await check("generateText responses to anthropic", () => generate(openai("claude-sonnet-4-5")));
await check("streamText responses to anthropic with tools", () => stream(openai("claude-sonnet-4-5"), { tools }));
await check("generateText responses tools", () => generate(openai("claude-sonnet-4-5"), { prompt: "Weather in Paris?", tools }));

await check("generateText chat", () => generate(compatible("gpt-4o-mini")));
await check("streamText chat", () => stream(compatible("gpt-4o-mini")));
await check("generateText chat tools", () => generate(compatible("gpt-4o-mini"), { prompt: "Weather in Oslo?", tools }));

done();
