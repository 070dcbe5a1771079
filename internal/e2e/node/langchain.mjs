// LangChain's ChatOpenAI (@langchain/openai), unmodified, against the
// gateway's /v1/chat/completions.
import { ChatOpenAI } from "@langchain/openai";
import { base, key, check, done } from "./lib.mjs";

const chat = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: key, configuration: { baseURL: `${base}/v1` }, maxRetries: 0 });

await check("invoke", async () => {
  const m = await chat.invoke("Say hello");
  return { content: m.content, id: m.id, usage_metadata: m.usage_metadata, finish_reason: m.response_metadata?.finish_reason };
});

await check("stream", async () => {
  let content = "", chunks = 0, usage_metadata = null;
  for await (const c of await chat.stream("Say hello")) {
    chunks++;
    content += c.content;
    usage_metadata = c.usage_metadata ?? usage_metadata;
  }
  return { content, chunks, usage_metadata };
});

done();
