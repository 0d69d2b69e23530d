// Renders a chart's Vega-Lite spec to SVG with Vega in Node (no browser), and the SVG to PNG with resvg.
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { FONT, withConfig, type Chart } from "./chart.js";

/** The chart as a standalone SVG document. */
export async function chartSvg(chart: Chart): Promise<string> {
  const compiled = vegaLite.compile(withConfig(chart.spec) as unknown as vegaLite.TopLevelSpec).spec;
  // NOTE: a loader that refuses every URL: a report must never fetch anything, even by mistake.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`chart ${chart.name}: refusing to load ${uri} (reports use inline data only)`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: "none", loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG drawn to a PNG at twice its size (sharp in READMEs), text in the same font Vega measured. */
export function svgPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT }, fitTo: { mode: "zoom", value: 2 }, background: "white" });
  return resvg.render().asPng();
}

/**
 * The SVG with its ids (clip paths, gradients) prefixed by `prefix`: several charts inlined in one
 * HTML page share one id space, and Vega numbers them the same way in every chart.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}
