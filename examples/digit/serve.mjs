// Serves the digit example on 127.0.0.1: the page, its script, model.bin and the runtime's ES modules straight from dist/src/runtime/ (no bundler needed).
//
//   node examples/digit/serve.mjs [--port 8080] [--model examples/digit/model.bin]
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const runtimeDir = join(here, "..", "..", "dist", "src", "runtime");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".bin": "application/octet-stream" };

/** Starts the server (port 0: a free one); resolves to the server and its address. */
export async function serveDigitExample({ port = 8080, model = join(here, "model.bin") } = {}) {
  if (!existsSync(join(runtimeDir, "index.js"))) throw new Error(`${runtimeDir}/index.js not found: build first (npm run build)`);
  if (!existsSync(model)) throw new Error(`${model} not found: export a model first (see examples/digit/README.md)`);
  const files = new Map([["/", join(here, "index.html")], ["/digit.js", join(here, "digit.js")], ["/model.bin", resolve(model)]]);
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    // Only known files and the runtime's own modules (plain names: no way out of the directory).
    const runtimeModule = /^\/runtime\/([\w-]+\.js)$/.exec(path);
    const file = files.get(path) ?? (runtimeModule ? join(runtimeDir, runtimeModule[1]) : undefined);
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[file.slice(file.lastIndexOf("."))] ?? TYPES[".html"] }).end(readFileSync(file));
  });
  await new Promise((done, fail) => server.once("error", fail).listen(port, "127.0.0.1", done));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8080" }, model: { type: "string" } } });
  try {
    const { url } = await serveDigitExample({ port: Number(values.port), model: values.model });
    console.log(`digit example: ${url} (Ctrl-C stops)`);
  } catch (error) {
    console.error(`serve.mjs: ${error.message}`);
    process.exit(1);
  }
}
