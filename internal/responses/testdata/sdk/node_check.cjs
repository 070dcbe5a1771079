// Drives the official openai npm package against a fake gateway and prints
// what it read as JSON. Run by TestTheNodeSDKReadsTheStream:
//   node node_check.cjs <base URL>, with OPENAI_NODE_MODULES naming a
//   node_modules folder that holds the openai package.
const path = require("node:path");
const { createRequire } = require("node:module");
const load = createRequire(path.join(process.env.OPENAI_NODE_MODULES, "noop.js"));
const OpenAI = load("openai");

const tools = [{ type: "function", name: "get_weather", strict: false,
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];

async function streamed(client, model, extra) {
  const types = [];
  const stream = client.responses.stream({ model, input: "hello", ...extra });
  stream.on("event", (ev) => types.push(ev.type));
  try {
    const final = await stream.finalResponse();
    return { types, status: final.status, output_text: final.output_text, output: final.output.map((o) => o.type),
      incomplete: final.incomplete_details, usage: final.usage };
  } catch (e) {
    return { types, error: String(e && e.message), name: e && e.constructor && e.constructor.name };
  }
}

async function main() {
  const client = new OpenAI({ baseURL: process.argv[2] + "/v1", apiKey: "test-key", maxRetries: 0 });
  const out = {};
  const plain = await client.responses.create({ model: "text", input: "Hello!" });
  out.plain = { status: plain.status, output_text: plain.output_text, usage: plain.usage };
  out.tools = await streamed(client, "tool_calls", { tools });
  out.text = await streamed(client, "text", {});
  out.length = await streamed(client, "length", { max_output_tokens: 16 });
  out.refusal = await streamed(client, "refusal", {});
  out.cut = await streamed(client, "cut", {});
  out.reasoning = await streamed(client, "reasoning", {});
  {
    // What the SDK's stream accumulated into the reasoning item.
    const stream = client.responses.stream({ model: "reasoning", input: "hello" });
    const final = await stream.finalResponse();
    out.reasoningItem = final.output[0];
  }
  // The raw event iterator, as most code uses it.
  const raw = { types: [] };
  try {
    const s = await client.responses.create({ model: "cut", input: "hello", stream: true });
    for await (const ev of s) raw.types.push(ev.type);
  } catch (e) {
    raw.error = String(e && e.message);
  }
  out.cutRaw = raw;
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(1); });
