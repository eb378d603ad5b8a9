// A strict reader of the Prometheus text exposition format (version 0.0.4), enough to check
// that /metrics parses: every sample belongs to a declared metric family with HELP and TYPE.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
  counter: ['', '_total'],
  gauge: [''],
  untyped: [''],
};

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0]!;
      if (!METRIC_NAME.test(name)) fail('bad metric name');
      helps.add(name);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!METRIC_NAME.test(name!) || !(type! in SUFFIXES)) fail('bad TYPE line');
      if (types.has(name!)) fail('duplicate TYPE');
      types.set(name!, type!);
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) return fail('not a sample line');
    const [, name, , labelText = '', valueText] = m;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const l = LABEL.exec(labelText);
      if (!l) return fail('bad labels');
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    // Values are read like Go's strconv.ParseFloat (what Prometheus uses): NaN and Inf in any case.
    // prom-client writes NaN as "Nan" (e.g. the event-loop lag before its first sample).
    const special = /^([+-]?)(inf|nan)$/i.exec(valueText!);
    const value = special
      ? special[2]!.toLowerCase() === 'nan'
        ? NaN
        : (special[1] === '-' ? -1 : 1) * Infinity
      : Number(valueText);
    if (Number.isNaN(value) && !special) fail('bad value');
    const family = [...types.keys()].find((f) => (SUFFIXES[types.get(f)!] ?? []).some((s) => name === f + s));
    if (!family) fail('sample without a TYPE');
    if (!helps.has(family!)) fail('family without HELP');
    samples.push({ name: name!, labels, value });
  });
  return { types, samples };
}

/** The value of the sample with this name and exactly these labels (undefined when absent). */
export function sampleValue(
  exp: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return exp.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)
    ?.value;
}
