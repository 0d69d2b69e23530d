// PyTorch as the `bench train` peer: every configuration worth trying (OpenBLAS threads × intra-op threads × CPU detection), each served by its own bench/torch_mlp.py process.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Variables some environments set to force an OpenBLAS CPU kernel (and cache size) instead of the
 * one OpenBLAS detects itself; a user's machine usually sets neither, and native detection ran
 * 30–50% faster where they were set (issue 10), so both variants are measured.
 */
export const CPU_OVERRIDE_VARIABLES = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] as const;

/** Thread counts tried for each of the two pools (the bench machine class has 2 cores). */
const POOL_SIZES = [1, 2];

export interface TorchConfiguration {
  /** OPENBLAS_NUM_THREADS: the pool that runs Debian torch's GEMMs (torch.set_num_threads does not size it). */
  blasThreads: number;
  /** torch.set_num_threads: ATen's OpenMP pool for element-wise ops, reductions and the optimizer. */
  intraOpThreads: number;
  /**
   * "environment": OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE passed on as set; "detected": both removed,
   * OpenBLAS detects the CPU. Absent when neither is set: then the two variants are the same process.
   */
  cpu?: "environment" | "detected";
  /** Printed in the table and as the JSON rows' `config`, e.g. "openblas2-intraop1". */
  name: string;
}

/** The CPU-override variables set in `env`, as NAME=value. */
export function cpuOverrides(env: NodeJS.ProcessEnv): string[] {
  return CPU_OVERRIDE_VARIABLES.filter((name) => env[name] !== undefined).map((name) => `${name}=${env[name]}`);
}

/** Every configuration: each pool at 1 and 2 threads, and with and without the CPU overrides when `env` sets any. */
export function torchConfigurations(env: NodeJS.ProcessEnv = process.env): TorchConfiguration[] {
  const variants: (TorchConfiguration["cpu"] | undefined)[] = cpuOverrides(env).length ? ["environment", "detected"] : [undefined];
  const configurations: TorchConfiguration[] = [];
  for (const blasThreads of POOL_SIZES) {
    for (const intraOpThreads of POOL_SIZES) {
      for (const cpu of variants) {
        const suffix = cpu === undefined ? "" : cpu === "environment" ? "-cpu-from-env" : "-cpu-detected";
        configurations.push({ blasThreads, intraOpThreads, ...(cpu ? { cpu } : {}), name: `openblas${blasThreads}-intraop${intraOpThreads}${suffix}` });
      }
    }
  }
  return configurations;
}

/** The child's environment: `env` with OPENBLAS_NUM_THREADS set, and without the CPU overrides in the "detected" variant. Nothing else is forced. */
export function torchChildEnvironment(configuration: TorchConfiguration, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = { ...env, OPENBLAS_NUM_THREADS: String(configuration.blasThreads) };
  if (configuration.cpu === "detected") for (const name of CPU_OVERRIDE_VARIABLES) delete child[name];
  return child;
}

/** bench/torch_mlp.py, found from this file (src/bench or dist/src/bench) up to the package root. */
export function torchScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "bench", "torch_mlp.py");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error("bench train: bench/torch_mlp.py not found above " + dirname(fileURLToPath(import.meta.url)));
}

/** The torch version `python` imports, or the reason it cannot. */
export function probeTorch(python: string, env: NodeJS.ProcessEnv = process.env): { version: string } | { problem: string } {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000, env });
  if (probe.error) return { problem: `${python} could not be run (${probe.error.message})` };
  if (probe.status !== 0) return { problem: `${python} cannot import torch (${lastLine(probe.stderr) || `exit code ${probe.status}`}); install Debian's python3-torch` };
  return { version: probe.stdout.trim() };
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

/** What a served process reports once warmed up: its torch, and the pools as it actually sized them. */
export interface TorchReady {
  version: string;
  intra_op_threads: number;
  blas_core: string | null;
  blas_threads: number | null;
}

/** A process serving timed runs of one configuration over stdin/stdout (see bench/torch_mlp.py --serve). */
export interface TorchProcess {
  configuration: TorchConfiguration;
  ready: TorchReady;
  run(steps: number): Promise<{ ms: number; loss: number }>;
  close(): void;
}

export interface TorchTraining {
  python: string;
  /** bench/torch_mlp.py's --model: "mlp" (default) or "lenet-5". */
  model?: string;
  data: { features: string; labels: string };
  batch: number;
  lr: number;
  momentum: number;
  env?: NodeJS.ProcessEnv;
}

/** Starts one configuration's process; rejects with a one-line message naming it when the process fails before it is ready. */
export async function startTorchProcess(configuration: TorchConfiguration, training: TorchTraining): Promise<TorchProcess> {
  const { python, model = "mlp", data, batch, lr, momentum } = training;
  const child: ChildProcessWithoutNullStreams = spawn(python, [
    torchScriptPath(), "--model", model, "--intra-op-threads", String(configuration.intraOpThreads), "--serve",
    "--data", data.features, "--labels", data.labels, "--batch", String(batch), "--lr", String(lr), "--momentum", String(momentum),
  ], { env: torchChildEnvironment(configuration, training.env ?? process.env) });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  // A process that died mid-run fails its next reply below; writing to its closed stdin must not crash us.
  child.stdin.on("error", () => {});
  const exited = new Promise<string>((resolve) => {
    child.on("error", (error) => resolve(error.message));
    child.on("close", (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextReply = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) {
      const how = await exited;
      throw new Error(`PyTorch configuration ${configuration.name} failed (${how}): ${lastLine(stderr) || "no message"}`);
    }
    try {
      return JSON.parse(value);
    } catch {
      throw new Error(`PyTorch configuration ${configuration.name} printed "${value.slice(0, 80)}", expected a JSON line`);
    }
  };
  try {
    const ready = (await nextReply()) as unknown as TorchReady;
    return {
      configuration, ready,
      async run(steps) {
        child.stdin.write(JSON.stringify({ steps }) + "\n");
        const reply = await nextReply();
        if (typeof reply.ms !== "number" || typeof reply.loss !== "number") {
          throw new Error(`PyTorch configuration ${configuration.name} replied ${JSON.stringify(reply)}, expected {"ms": number, "loss": number}`);
        }
        return { ms: reply.ms, loss: reply.loss };
      },
      close() {
        child.stdin.end();
      },
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}
