// openai_client_check.mjs - manual check (not in `make test`): the official
// `openai` npm package talks to a running `hxq serve` unchanged.
//
//   build/hxq serve models/tiny-olmoe --parallel 2 --api-key sk-k &
//   mkdir -p /tmp/oai && cp test/serve/openai_client_check.mjs /tmp/oai/
//   cd /tmp/oai && npm install openai@4 && node openai_client_check.mjs 8080 sk-k
//
// Exit status 0 when every check passes. Last run (2026-12-03): openai
// 4.104.0 on node 20, all passing.
import OpenAI from "openai";

const [port, key] = process.argv.slice(2);
const c = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key || "none" });
let failed = 0;
const check = (ok, what) => { if (!ok) { failed++; console.log("FAIL: " + what); } };

const models = await c.models.list();
check(models.data.length === 1 && models.data[0].object === "model", "models.list");
const msgs = [{ role: "user", content: "Hello" }];
const r = await c.chat.completions.create({ model: "m", messages: msgs, max_tokens: 20,
                                            temperature: 0 });
const text = r.choices[0].message.content;
check(typeof text === "string" && r.usage.completion_tokens === 20, "chat.completions.create");
const s = await c.chat.completions.create({ model: "m", messages: msgs, max_tokens: 20,
                                            temperature: 0, stream: true,
                                            stream_options: { include_usage: true } });
let streamed = "", usage = null;
for await (const ch of s) {
    if (ch.choices.length) streamed += ch.choices[0].delta.content ?? "";
    if (ch.usage) usage = ch.usage;
}
check(streamed === text && usage && usage.total_tokens === r.usage.total_tokens, "chat stream");
const comp = await c.completions.create({ model: "m", prompt: "ROMEO:", max_tokens: 8,
                                         temperature: 0 });
let t2 = "";
for await (const ch of await c.completions.create({ model: "m", prompt: "ROMEO:", max_tokens: 8,
                                                    temperature: 0, stream: true }))
    t2 += ch.choices[0].text;
check(t2 === comp.choices[0].text, "completions, plain and streamed");
try {
    await c.chat.completions.create({ model: "m", messages: [{ role: "tool", content: "x" }] });
    check(false, "a bad role is refused");
} catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.param === "messages[0].role", "400 -> BadRequestError");
}
if (key) {
    try {
        await new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "wrong" }).models.list();
        check(false, "a wrong key is refused");
    } catch (e) {
        check(e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key", "401");
    }
}
console.log(failed ? `${failed} check(s) failed` : "openai client: all checks passed");
process.exit(failed ? 1 : 0);
