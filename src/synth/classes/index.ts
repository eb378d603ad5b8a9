// The classes SynthAV renders, keyed by their LLP names.
import { acousticGuitar } from './acoustic_guitar.js';
import { basketball } from './basketball.js';
import { car } from './car.js';
import { clapping } from './clapping.js';
import { dog } from './dog.js';
import { fireAlarm } from './fire_alarm.js';
import { helicopter } from './helicopter.js';
import { motorcycle } from './motorcycle.js';
import { speech } from './speech.js';
import type { ClassSpec } from './spec.js';
import { telephone } from './telephone.js';

/** Parameters as stored in a scene (every class's parameters are plain numbers). */
export type ClassParams = Record<string, number>;

// Each spec is typed with its own parameter record; the table widens that (method parameters are
// bivariant), and a scene only ever hands a class the parameters that class produced.
export const SYNTH_CLASSES: readonly ClassSpec<ClassParams>[] = [
  speech,
  car,
  dog,
  basketball,
  fireAlarm,
  helicopter,
  acousticGuitar,
  telephone,
  motorcycle,
  clapping,
];

/** The rendered class names, in table order. */
export const SYNTH_CLASS_NAMES: readonly string[] = SYNTH_CLASSES.map((c) => c.name);

export function classSpec(name: string): ClassSpec<ClassParams> {
  const spec = SYNTH_CLASSES.find((c) => c.name === name);
  if (!spec) throw new Error(`SynthAV has no class '${name}' (known: ${SYNTH_CLASS_NAMES.join(', ')})`);
  return spec;
}
