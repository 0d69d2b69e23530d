// Reads a table of a report page back: header texts and cells (the text shown, and the exact number its data-value holds).

export interface ParsedCell {
  text: string;
  value?: number;
}

const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&amp;/g, "&");

/** The table `id` of the page: header texts and rows of cells (text, and the exact number in data-value). */
export function parseTable(html: string, id: string): { header: string[]; rows: ParsedCell[][] } {
  const match = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(html);
  if (match === null) throw new Error(`no table ${id} in the report`);
  const header = [...match[1].matchAll(/<th>(.*?)<\/th>/g)].map((m) => unescape(m[1]));
  const rows = [...match[1].matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((r) => [...r[1].matchAll(/<td(?: class="n" data-value="([^"]*)")?>(.*?)<\/td>/g)].map((c) => ({
    text: unescape(c[2]), ...(c[1] !== undefined ? { value: Number(c[1]) } : {}),
  })));
  return { header, rows };
}
