// `sparsetrain report <run-dir>...`: an HTML report with charts of one or several runs (or a sweep), written beside its charts as SVG and PNG.
import { writeReport } from "../report/index.js";

export async function reportCommand(inputs: string[], options: { out?: string; reference?: string; json?: boolean }): Promise<void> {
  const result = await writeReport(inputs, {
    out: options.out, reference: options.reference,
    // Warnings go to stderr always; the "wrote" line to stdout unless --json asks for one summary line only.
    log: (line) => (line.startsWith("warning: ") ? process.stderr.write(`sparsetrain: ${line}\n`) : options.json ? undefined : process.stdout.write(`${line}\n`)),
  });
  if (options.json) process.stdout.write(`${JSON.stringify({ report: result.html, files: result.files, runs: result.runs, warnings: result.warnings })}\n`);
}
