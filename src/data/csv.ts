// Reads numeric CSV with a header row into a Dataset, the label column chosen by name; errors give the file and line.
import { readFileSync } from "node:fs";
import { Dataset } from "./dataset.js";

export interface CsvOptions {
  /** Name of the header column holding the class labels. */
  labelColumn: string;
  /** Field separator (default ","). */
  delimiter?: string;
  /**
   * Number of classes; by default 1 + the largest label. Give it when one file (e.g. a test split)
   * may lack the last classes.
   */
  classCount?: number;
}

const maxFloat32 = 3.4028234663852886e38;

/** Reads the CSV file at `path`. */
export function readCsvDataset(path: string, options: CsvOptions): Dataset {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`${path}: cannot read CSV file (${(error as Error).message})`);
  }
  return parseCsvDataset(text, path, options);
}

/**
 * Parses CSV text: a header row, then one example per line, every field a number except that labels
 * must be integers >= 0. Empty lines are skipped. Quoted fields are not supported (numbers need none).
 */
export function parseCsvDataset(text: string, fileName: string, options: CsvOptions): Dataset {
  const delimiter = options.delimiter ?? ",";
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() !== "");
  if (headerIndex < 0) throw new Error(`${fileName}: empty CSV file (expected a header row naming the columns)`);
  const header = lines[headerIndex].split(delimiter).map((name) => name.trim());
  const labelIndex = header.indexOf(options.labelColumn);
  if (labelIndex < 0) {
    throw new Error(`${fileName}:${headerIndex + 1}: no column named "${options.labelColumn}" in the header (columns: ${header.join(", ")})`);
  }
  if (header.length < 2) throw new Error(`${fileName}:${headerIndex + 1}: the header has only the label column, no feature columns`);

  const featureCount = header.length - 1;
  const features: number[] = [];
  const labels: number[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const where = `${fileName}:${i + 1}`;
    const fields = lines[i].split(delimiter);
    if (fields.length !== header.length) {
      throw new Error(`${where}: ${fields.length} fields, but the header has ${header.length} columns`);
    }
    fields.forEach((field, column) => {
      const value = parseNumber(field);
      if (value === undefined) throw new Error(`${where}: column "${header[column]}" holds "${field.trim()}", which is not a number`);
      // Features are stored as float32: a larger magnitude would silently become Infinity.
      if (Math.abs(value) > maxFloat32) throw new Error(`${where}: column "${header[column]}" holds ${field.trim()}, beyond the float32 range (±${maxFloat32})`);
      if (column !== labelIndex) {
        features.push(value);
      } else if (Number.isInteger(value) && value >= 0 && value <= 2 ** 31 - 1) {
        labels.push(value);
      } else {
        throw new Error(`${where}: label column "${options.labelColumn}" holds ${field.trim()}; labels must be class indices (integers in [0, 2^31))`);
      }
    });
  }
  if (labels.length === 0) throw new Error(`${fileName}: no data rows after the header`);

  const largest = labels.reduce((a, b) => Math.max(a, b), 0);
  const classCount = options.classCount ?? largest + 1;
  if (largest >= classCount) throw new Error(`${fileName}: label ${largest} is not below the class count ${classCount}`);
  return new Dataset(Float32Array.from(features), Int32Array.from(labels), [featureCount], classCount, fileName);
}

/** A finite number, or undefined; stricter than Number() (which accepts "" and " "). */
function parseNumber(field: string): number | undefined {
  const trimmed = field.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
