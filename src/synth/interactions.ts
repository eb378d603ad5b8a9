// Planted latent interactions: "when class A is visible (or audible), class B becomes audible (or
// visible) with probability p". They are the generator's analogue of a clip labelled Car that also
// holds motorcycle sound, and the ground truth that causal discovery should recover.

export type Sense = 'audio' | 'visual';

export interface Interaction {
  /** Cause class and the modality in which it must be present. */
  from: string;
  when: Sense;
  /** Effect class and the modality in which it then appears. */
  to: string;
  then: Sense;
  /** Probability in [0, 1]. */
  p: number;
}

export const DEFAULT_INTERACTIONS: readonly Interaction[] = [
  { from: 'Car', when: 'visual', to: 'Motorcycle', then: 'audio', p: 0.5 },
  { from: 'Dog', when: 'visual', to: 'Speech', then: 'audio', p: 0.3 },
  { from: 'Acoustic_guitar', when: 'visual', to: 'Clapping', then: 'audio', p: 0.4 },
  { from: 'Telephone_bell_ringing', when: 'audio', to: 'Speech', then: 'visual', p: 0.4 },
];

export class InteractionError extends Error {}

/**
 * Checks an interaction table read from JSON (an array of {from, when, to, then, p}); every error
 * names the entry and the field.
 */
export function parseInteractions(value: unknown, classes: readonly string[], source: string): Interaction[] {
  if (!Array.isArray(value)) {
    throw new InteractionError(`${source}: expected a JSON array of {from, when, to, then, p} entries`);
  }
  return value.map((entry: unknown, i) => {
    const where = `${source}: entry ${i}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new InteractionError(`${where}: expected an object {from, when, to, then, p}`);
    }
    const e = entry as Record<string, unknown>;
    const cls = (key: 'from' | 'to'): string => {
      const v = e[key];
      if (typeof v !== 'string' || !classes.includes(v)) {
        throw new InteractionError(
          `${where}: '${key}' must be one of ${classes.join(', ')}; got ${JSON.stringify(v)}`,
        );
      }
      return v;
    };
    const sense = (key: 'when' | 'then'): Sense => {
      const v = e[key];
      if (v !== 'audio' && v !== 'visual') {
        throw new InteractionError(
          `${where}: '${key}' must be "audio" or "visual"; got ${JSON.stringify(v)}`,
        );
      }
      return v;
    };
    const p = e.p;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new InteractionError(`${where}: 'p' must be a probability in [0, 1]; got ${JSON.stringify(p)}`);
    }
    return { from: cls('from'), when: sense('when'), to: cls('to'), then: sense('then'), p };
  });
}

/** The planted graph as JSON: nodes are `Class:modality`, edges carry the probability. */
export function interactionGraph(table: readonly Interaction[]) {
  const node = (cls: string, sense: Sense) => `${cls}:${sense}`;
  const nodes = [...new Set(table.flatMap((r) => [node(r.from, r.when), node(r.to, r.then)]))];
  return {
    description: 'SynthAV planted interactions: when `from` is present, `to` is added with probability p',
    nodes,
    edges: table.map((r) => ({ from: node(r.from, r.when), to: node(r.to, r.then), p: r.p })),
  };
}
