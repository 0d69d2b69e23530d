// Progress display for training: a bar with rate and ETA on a terminal, plain log lines otherwise.
import cliProgress from "cli-progress";

export interface Progress {
  startEpoch(epoch: number, totalEpochs: number | null, steps: number): void;
  update(stepInEpoch: number, loss: number): void;
  endEpoch(): void;
  /** A line of text that must not collide with the bar. */
  log(line: string): void;
}

/** A progress display writing to stderr; `quiet` prints nothing but `log` lines. */
export function createProgress(quiet = false): Progress {
  const tty = process.stderr.isTTY === true && !quiet;
  let bar: cliProgress.SingleBar | null = null;
  let started = 0, steps = 0, lastLogged = 0, label = "";
  return {
    startEpoch(epoch, totalEpochs, stepCount) {
      steps = stepCount;
      started = performance.now();
      lastLogged = started;
      label = `epoch ${epoch + 1}${totalEpochs === null ? "" : `/${totalEpochs}`}`;
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: `${label} [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s | ETA {eta_formatted}`,
          stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
        }, cliProgress.Presets.shades_classic);
        bar.start(stepCount, 0, { loss: "-", rate: "-" });
      }
    },
    update(step, loss) {
      const now = performance.now();
      const rate = (step / ((now - started) / 1000)).toFixed(1);
      if (bar) bar.update(step, { loss: loss.toFixed(4), rate });
      else if (!quiet && now - lastLogged > 10_000) {
        lastLogged = now;
        const eta = ((steps - step) / Number(rate)).toFixed(0);
        process.stderr.write(`${label}: step ${step}/${steps}, loss ${loss.toFixed(4)}, ${rate} steps/s, ETA ${eta}s\n`);
      }
    },
    endEpoch() {
      bar?.stop();
      bar = null;
    },
    log(line) {
      if (bar) bar.stop();
      process.stdout.write(`${line}\n`);
    },
  };
}
