// A report chart: a named Vega-Lite spec with a caption, and the shared look (font, sizes) every chart uses so that SVG and PNG text match.
export type VegaLiteSpec = Record<string, unknown>;

export interface Chart {
  /** File stem of the chart's SVG and PNG, e.g. `loss` or `masks-2`. */
  name: string;
  title: string;
  /** A sentence under the chart saying how to read it. */
  caption: string;
  spec: VegaLiteSpec;
}

/** A font installed here and on CI (fonts-dejavu-core): Vega measures text for it and resvg draws it. */
export const FONT = "DejaVu Sans";

/** The spec with the report's config: white background, one font everywhere, no data fetched (values inline). */
export function withConfig(spec: VegaLiteSpec): VegaLiteSpec {
  return {
    background: "white",
    padding: 8,
    ...spec,
    config: { font: FONT, axis: { labelFont: FONT, titleFont: FONT }, legend: { labelFont: FONT, titleFont: FONT }, title: { font: FONT }, header: { labelFont: FONT, titleFont: FONT } },
  };
}

/** Colour per run (several runs overlaid), a categorical scheme with enough hues. */
export const RUN_COLOR = { scale: { scheme: "tableau10" } };
