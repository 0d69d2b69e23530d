// `sparsetrain train <recipe>`: validates the recipe, trains with progress output, prints the summary.
import { join } from "node:path";
import { loadRecipe } from "../recipe/load.js";
import { writeReport } from "../report/index.js";
import { runRecipe } from "../train/run.js";
import { createProgress } from "./progress.js";

export interface TrainCommandOptions {
  set: string[];
  resume?: string;
  runDir?: string;
  dataDir?: string;
  json?: boolean;
  quiet?: boolean;
  /** Write the run's report (report.html and its charts) into the run folder at the end. */
  report?: boolean;
}

export async function trainCommand(recipePath: string, options: TrainCommandOptions): Promise<void> {
  const recipe = loadRecipe(recipePath, options.set);
  const progress = createProgress(options.quiet);
  const summary = runRecipe(recipe, recipePath, {
    runDir: options.runDir,
    dataDir: options.dataDir,
    resume: options.resume,
    log: (line) => progress.log(line),
    onEpochStart: (epoch, total, steps) => progress.startEpoch(epoch, total, steps),
    onStep: (info) => progress.update(info.stepInEpoch, info.loss),
    onEpochEnd: (s) => {
      progress.endEpoch();
      const val = s.valAccuracy === undefined ? "" : `, val loss ${s.valLoss!.toFixed(4)}, val acc ${(100 * s.valAccuracy).toFixed(2)}%`;
      progress.log(`epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(4)}, train acc ${(100 * s.trainAccuracy).toFixed(2)}%${val}, lr ${s.lr.toPrecision(3)}, ${s.seconds.toFixed(1)} s/epoch`);
    },
  });
  progress.log(`confusion matrix on the test set (rows: true class, columns: predicted):\n${summary.confusion.map((r) => r.map((v) => String(v).padStart(6)).join("")).join("\n")}`);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  progress.log(
    `test accuracy ${pct(summary.test_accuracy)}, test loss ${summary.test_loss.toFixed(4)}; ` +
      `${summary.params_nonzero}/${summary.params_total} weights non-zero (sparsity ${pct(summary.sparsity)}); ` +
      `${summary.epochs} epochs in ${summary.seconds.toFixed(1)} s (${summary.seconds_per_epoch.toFixed(1)} s/epoch); checkpoint ${summary.checkpoint}`,
  );
  let report: string | undefined;
  if (options.report) {
    const written = await writeReport([summary.run_dir], { out: join(summary.run_dir, "report.html"), log: (line) => progress.log(line) });
    report = written.html;
  }
  if (options.json) {
    const { confusion: _confusion, ...rest } = summary;
    process.stdout.write(`${JSON.stringify(report === undefined ? rest : { ...rest, report })}\n`);
  }
}
