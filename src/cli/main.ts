#!/usr/bin/env node
// The sparsetrain command line: train, sweep, eval, info, prune, quantize, export, sensitivity, report and bench.
import { Command, Option } from "commander";
import { benchKernelsCommand } from "./bench-command.js";
import { benchInferCommand } from "./bench-infer-command.js";
import { benchTrainCommand } from "./bench-train-command.js";
import { evalCommand, infoCommand } from "./checkpoint-commands.js";
import { exportCommand } from "./export-command.js";
import { pruneCommand } from "./prune-command.js";
import { quantizeCommand } from "./quantize-command.js";
import { reportCommand } from "./report-command.js";
import { DEFAULT_GRID, sensitivityCommand } from "./sensitivity-command.js";
import { sweepCommand } from "./sweep-command.js";
import { trainCommand } from "./train-command.js";

// A reader that stops early (`sparsetrain info x | head -1`) closes our stdout: that is a normal way
// to stop the output, not a failure, so end quietly with success instead of an unhandled EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  process.stderr.write(`sparsetrain: cannot write to standard output (${error.message})\n`);
  process.exit(1);
});

const program = new Command()
  .name("sparsetrain")
  .description("Truly sparse neural-network training on CPUs")
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

const collect = (value: string, previous: string[]) => [...previous, value];

program
  .command("train")
  .description("train the model a YAML recipe describes")
  .argument("<recipe>", "recipe file (YAML)")
  .option("--set <path=value>", "override a recipe field, e.g. --set optimizer.lr=0.05; key=null removes it (repeatable)", collect, [])
  .option("--resume <checkpoint>", "continue from a checkpoint written by an earlier run of this recipe")
  .option("--run-dir <dir>", "folder for checkpoints and metrics (default: output.runDir or runs/<name>)")
  .option("--data-dir <dir>", "folder holding the dataset's IDX files")
  .option("--json", "print a JSON summary as the last line")
  .option("--quiet", "no progress output")
  .option("--report", "at the end, write the run's report (report.html, charts as SVG and PNG) into the run folder")
  .action(trainCommand);

program
  .command("sweep")
  .description("train a recipe for every combination of --grid values, one run folder each; a rerun skips finished runs")
  .argument("<recipe>", "recipe file (YAML)")
  .option("--grid <key=v1,v2,...>", "vary a recipe field over values (commas inside [..] stay in one value: model.widths=[300,100],[100,30]); repeat for a Cartesian product", collect, [])
  .option("--set <path=value>", "override a recipe field in every run (repeatable)", collect, [])
  .option("--out <dir>", "sweep folder: sweep.json and one run folder per combination (default: runs/sweep-<recipe name>)")
  .option("--parallel <n>", "runs at a time, each with the recipe's train.threads", "1")
  .option("--reference <file>", "published points (JSON, as docs/published/*.json) drawn beside the runs in the comparison report")
  .option("--no-report", "do not write the comparison report (<out>/report.html) at the end")
  .option("--json", "one JSON line per run on stdout")
  .action(sweepCommand);

program
  .command("eval")
  .description("evaluate a checkpoint, or an exported compact model file on raw test images, on a test set")
  .argument("<checkpoint>", "checkpoint (.safetensors) or compact model file")
  .addOption(new Option("--data <dataset>", "dataset to evaluate on (default: the one it was trained on)").choices(["mnist", "fashion-mnist"]))
  .option("--data-dir <dir>", "folder holding the dataset's IDX files")
  .option("--json", "print a JSON summary as the last line")
  .action(evalCommand);

program
  .command("info")
  .description("per-layer shape, stored non-zeros, density and bytes of a checkpoint (quantized: bits and scales) or of a compact model file (encoding, value type)")
  .argument("<checkpoint>", "checkpoint (.safetensors) or compact model file")
  .option("--json", "print JSON instead of a table")
  .action(infoCommand);

program
  .command("prune")
  .description("prune a checkpoint's weights (torch.nn.utils.prune semantics) and write a new checkpoint")
  .argument("<checkpoint>", "checkpoint to prune (.safetensors); never modified")
  .requiredOption("--out <file>", "the pruned checkpoint to write (must differ from the input)")
  .option("--criterion <name>", "magnitude | random", "magnitude")
  .option("--amount <fraction>", "fraction in [0, 1] of the remaining weights (or structures) to prune")
  .option("--scope <scope>", "layer (each weight on its own) | global (one ranking over all)", "layer")
  .option("--structure <name>", "neurons | inputs (Linear), filters | channels (Conv2d)")
  .option("--norm <n>", "group norm for --structure: 1 | 2", "2")
  .option("--nm <N:M>", "keep N of every M consecutive inputs, e.g. 2:4 (instead of --amount)")
  .option("--include <pattern>", "prune only these weights, e.g. layers.0 or *.weight (repeatable)", collect, [])
  .option("--exclude <pattern>", "leave these weights alone (repeatable)", collect, [])
  .option("--min-keep <n>", "keep at least n weights (structures) per layer")
  .option("--csr-below <density>", "store layers at or below this density as CSR (default 0.5)")
  .option("--no-shrink", "keep pruned structures as zero rows instead of removing them")
  .option("--json", "print a JSON summary as the last line")
  .action(pruneCommand);

program
  .command("quantize")
  .description("post-training quantization: int8 or int4 weights with symmetric scales (zeros stay zero); writes a new checkpoint")
  .argument("<checkpoint>", "float checkpoint to quantize (.safetensors); never modified")
  .requiredOption("--bits <n>", "8 or 4 (int4 codes are packed two per byte)")
  .option("--granularity <kind>", "per-row (one scale per output row / channel) | per-tensor", "per-row")
  .requiredOption("--out <file>", "the quantized checkpoint to write (must differ from the input)")
  .option("--json", "print a JSON summary as the last line")
  .action(quantizeCommand);

program
  .command("export")
  .description("export a checkpoint for deployment: a compact sparse model file or ONNX, taking raw inputs (normalization and batch norm folded in)")
  .argument("<checkpoint>", "checkpoint to export (.safetensors, float or quantized); never modified")
  .requiredOption("--format <format>", "compact (our sparse file, docs/compact-format.md) | onnx (dense weights; int8/int4 as DequantizeLinear)")
  .option("--quantize <type>", "int8 | int4: quantize a float checkpoint's weights per output row on export (a quantized checkpoint keeps its own)")
  .option("--values <type>", "float32 | float16: how a float checkpoint's weights are stored (compact only for float16; default float32)")
  .requiredOption("--out <file>", "the file to write (must differ from the input; written atomically)")
  .option("--json", "print a JSON summary as the last line")
  .action(exportCommand);

program
  .command("sensitivity")
  .description("prune each weight alone across a sparsity grid, evaluate, and derive per-layer budgets for a global sparsity; writes nothing to the checkpoint")
  .argument("<checkpoint>", "checkpoint to analyse (.safetensors); never modified")
  .addOption(new Option("--data <dataset>", "dataset to evaluate on (default: the one it was trained on)").choices(["mnist", "fashion-mnist"]))
  .option("--data-dir <dir>", "folder holding the dataset's IDX files")
  .option("--grid <sparsities>", "comma-separated sparsities in [0, 1] to prune each weight to", DEFAULT_GRID)
  .option("--criterion <name>", "magnitude | random", "magnitude")
  .option("--target <fraction>", "derive per-layer sparsities reaching this global sparsity in [0, 1) over the scanned weights")
  .option("--max-drop <fraction>", "accuracy any single layer may lose, e.g. 0.01 (alone: budgets within it; with --target: fail if the target needs more)")
  .option("--limit <n>", "evaluate on the first n test examples only")
  .option("--include <pattern>", "scan only these weights, e.g. layers.0 or *.weight (repeatable)", collect, [])
  .option("--exclude <pattern>", "leave these weights out of the scan (repeatable)", collect, [])
  .option("--out <file>", "write the budgets as YAML overrides for a prune recipe (needs --target or --max-drop)")
  .option("--json", "one JSON object per measurement, then a JSON summary line")
  .action(sensitivityCommand);

program
  .command("report")
  .description("one self-contained HTML report (charts, tables) of one or several runs or a sweep; every chart also as SVG and PNG beside it")
  .argument("<run-dir...>", "run folders written by sparsetrain train, or sweep folders (with sweep.json)")
  .option("--out <file>", "the HTML file (default: <run-dir>/report.html for one folder, report.html here for several)")
  .option("--reference <file>", "published accuracy-vs-sparsity points to draw beside the runs (e.g. docs/published/snfs-lenet-300-100.json)")
  .option("--json", "print one JSON summary line (files written, runs, warnings)")
  .action(reportCommand);

const bench = program.command("bench").description("benchmarks that print ratios against peers measured in the same run");
bench
  .command("kernels")
  .description("dense GEMM and sparse kernels vs our dense kernel and TensorFlow.js (wasm)")
  .option("--json", "one JSON object per line")
  .option("--quick", "fewer repetitions and shapes (a smoke run)")
  .option("--variant <names>", "kernel builds to time side by side: relaxed, simd, reference, a comma-separated list, or all (default: the one in use)")
  .action(benchKernelsCommand);
bench
  .command("train")
  .description("training steps/s of 784-1000-1000-1000-10 or LeNet-5: ours dense and sparse vs PyTorch and TensorFlow.js (wasm)")
  .option("--model <name>", "mlp (784-1000-1000-1000-10; densities 100–1%) or lenet-5 (Caffe variant; 100%, 10%, 2%)", "mlp")
  .option("--json", "one JSON object per line")
  .option("--quick", "fewer steps and repetitions (a smoke run)")
  .option("--steps <n>", "training steps per timed repetition (default 50; 10 with --quick)")
  .option("--reps <n>", "timed repetitions per engine, interleaved (default 5; 3 with --quick)")
  .addOption(new Option("--data <kind>", "training batches: real MNIST images or seeded random ones").choices(["mnist", "random"]).default("mnist"))
  .option("--python <path>", "python that imports torch for the PyTorch reference", "/usr/bin/python3")
  .option("--no-torch", "skip the PyTorch reference")
  .option("--threads <list>", "thread counts for our engine, each at every density (default 1,2: data-parallel steps)")
  .action(benchTrainCommand);
bench
  .command("infer")
  .description("file bytes and predict latency (batch 1 and 128) of LeNet-300-100 and LeNet-5, dense and sparse, float32 and int8: our runtime vs onnxruntime-node and TensorFlow.js (wasm)")
  .option("--json", "one JSON object per line")
  .option("--rounds <n>", "timed rounds, interleaved; the fastest is reported (default 7)")
  .option("--quick", "short timed samples (a smoke run)")
  .action(benchInferCommand);

try {
  await program.parseAsync();
} catch (error) {
  process.stderr.write(`sparsetrain: ${(error as Error).message}\n`);
  // SPARSETRAIN_DEBUG=1 shows where an unexpected error came from.
  if (process.env.SPARSETRAIN_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
}
