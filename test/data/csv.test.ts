// CSV datasets: label column by name, feature order kept, errors with file and line.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseCsvDataset, readCsvDataset } from "../../src/data/csv.js";

test("reads features and labels, label column anywhere, blank lines and CRLF ignored", () => {
  const dir = mkdtempSync(join(tmpdir(), "csv-test-"));
  const path = join(dir, "iris.csv");
  writeFileSync(path, "a, species ,b\r\n1.5,2,-3\r\n\r\n4e-1,0,5\r\n");
  const data = readCsvDataset(path, { labelColumn: "species" });
  assert.deepEqual([...data.features], [1.5, -3, 0.4, 5].map(Math.fround));
  assert.deepEqual([...data.labels], [2, 0]);
  assert.deepEqual(data.featureShape, [2]);
  assert.equal(data.classCount, 3);
  assert.equal(parseCsvDataset("x;y\n1;0\n", "s.csv", { labelColumn: "y", delimiter: ";", classCount: 4 }).classCount, 4);
});

test("errors name the file, the line and what was expected", () => {
  const parse = (text: string, classCount?: number) => () => parseCsvDataset(text, "d.csv", { labelColumn: "y", classCount });
  assert.throws(parse(""), /d\.csv: empty CSV file/);
  assert.throws(parse("a,b\n1,2\n"), /d\.csv:1: no column named "y" in the header \(columns: a, b\)/);
  assert.throws(parse("y\n1\n"), /d\.csv:1: the header has only the label column/);
  assert.throws(parse("a,y\n1,0\n1,2,3\n"), /d\.csv:3: 3 fields, but the header has 2 columns/);
  assert.throws(parse("a,y\n1,0\n\nfast,1\n"), /d\.csv:4: column "a" holds "fast", which is not a number/);
  assert.throws(parse("a,y\n1,\n"), /d\.csv:2: column "y" holds "", which is not a number/);
  assert.throws(parse("a,y\n1,0.5\n"), /d\.csv:2: label column "y" holds 0\.5; labels must be class indices/);
  assert.throws(parse("a,y\n"), /d\.csv: no data rows after the header/);
  assert.throws(parse("a,y\n1,5\n", 3), /d\.csv: label 5 is not below the class count 3/);
  assert.throws(() => readCsvDataset("/nonexistent/x.csv", { labelColumn: "y" }), /\/nonexistent\/x\.csv: cannot read CSV file/);
});
