// What every client script shares: the gateway's address and key from the
// environment (GATEWAY_BASE_URL, GATEWAY_KEY), and a runner that prints one
// JSON line per check and exits non-zero when any check threw.

export const base = process.env.GATEWAY_BASE_URL ?? "";
export const key = process.env.GATEWAY_KEY ?? "";

const url = URL.canParse(base) ? new URL(base) : null;
if (!url || !key) {
  console.error("set GATEWAY_BASE_URL (http://127.0.0.1:PORT) and GATEWAY_KEY");
  process.exit(2);
}
// These scripts talk to a gateway on this machine only.
if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
  console.error(`GATEWAY_BASE_URL must be a loopback address, not ${url.hostname}`);
  process.exit(2);
}

let failed = 0;

// check runs fn and prints {"check": name, ...what fn returned}, or
// {"check": name, "error": ...} with what the client threw.
export async function check(name, fn) {
  try {
    const out = await fn();
    console.log(JSON.stringify({ check: name, ...out }));
  } catch (err) {
    failed++;
    console.log(JSON.stringify({ check: name, error: describe(err) }));
  }
}

// expectError runs fn, which must throw; it returns what it threw.
export async function expectError(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("the call succeeded; an error was expected");
}

// describe is an error as JSON: its class, message and what an API error carries.
export function describe(err) {
  const out = {
    name: err?.constructor?.name ?? typeof err,
    message: String(err?.message ?? err),
  };
  // The SDKs' API errors carry the status, the body and the request id.
  for (const k of ["status", "statusCode", "type", "code", "param", "requestID", "request_id", "responseBody", "url"]) {
    if (err?.[k] !== undefined && err?.[k] !== null) out[k] = err[k];
  }
  if (err?.error !== undefined) out.body = err.error;
  if (err?.cause) out.cause = String(err.cause?.message ?? err.cause);
  if (!out.status && err?.stack) out.stack = String(err.stack).split("\n").slice(0, 6).join("\n");
  return out;
}

export function done() {
  process.exitCode = failed ? 1 : 0;
}
