// Load-time check of an ONNX file against its manifest: onnxruntime opens the file and the
// session's input/output names, element types, ranks and dimensions are compared with the
// manifest's TensorSpecs. Every mismatch is listed in one error naming the file and the tensor.
//
//   await validateModelFile('models/clip-vit-b32-vision.onnx', manifest);   // throws ModelValidationError
//   const problems = compareSignature(manifest, session);                   // for an already open session
//
// Rules (docs/models.md): every input of the file must be in the manifest and the other way
// round (the runtime feeds exactly the manifest's inputs); every manifest output must exist (the
// file may have more). A numeric dimension in the file must equal the manifest's; a symbolic one
// in the file accepts any manifest value; a manifest symbol (e.g. 'batch') needs a symbolic
// dimension in the file, since the runtime will vary it.
import type { InferenceSession } from 'onnxruntime-node';
import type { ModelManifest, TensorSpec } from './manifest.js';
import { ModelFileError, openSession } from '../engine/session.js';

/** What validation reads from a session: the part of InferenceSession that describes its I/O. */
export type SessionSignature = Pick<
  InferenceSession,
  'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'
>;

export class ModelValidationError extends Error {
  constructor(
    message: string,
    /** One sentence per problem found. */
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'ModelValidationError';
  }
}

/**
 * Opens `filePath` with onnxruntime (CPU) and checks it against `manifest`. A missing, empty,
 * truncated or corrupt file and any I/O mismatch become a ModelValidationError whose message
 * names the file and what to do.
 */
export async function validateModelFile(
  filePath: string,
  manifest: Pick<ModelManifest, 'inputs' | 'outputs'>,
) {
  let session: InferenceSession;
  try {
    ({ session } = await openSession(filePath, { providers: ['cpu'] }));
  } catch (err) {
    if (!(err instanceof ModelFileError)) throw err;
    throw new ModelValidationError(err.message, [err.message]);
  }
  try {
    assertSignature(manifest, session, filePath);
  } finally {
    await session.release();
  }
}

/** Throws a ModelValidationError listing every difference between the manifest and the session. */
export function assertSignature(
  manifest: Pick<ModelManifest, 'inputs' | 'outputs'>,
  session: SessionSignature,
  filePath: string,
): void {
  const problems = compareSignature(manifest, session);
  if (problems.length > 0) {
    throw new ModelValidationError(
      `${filePath} does not match its manifest:\n  ${problems.join('\n  ')}\n` +
        `Use the ONNX file the manifest was written for, or correct the manifest's inputs/outputs.`,
      problems,
    );
  }
}

/** Every difference between the manifest's I/O and the session's, one sentence each. */
export function compareSignature(
  manifest: Pick<ModelManifest, 'inputs' | 'outputs'>,
  session: SessionSignature,
): string[] {
  const problems: string[] = [];
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  for (const spec of manifest.inputs) {
    const meta = inputs.get(spec.name);
    if (!meta)
      problems.push(`input '${spec.name}' is missing from the file (it has ${list(session.inputNames)})`);
    else problems.push(...compareTensor('input', spec, meta));
  }
  for (const name of session.inputNames) {
    if (!manifest.inputs.some((s) => s.name === name))
      problems.push(
        `the file has input '${name}', which the manifest does not list (the runtime would not feed it)`,
      );
  }
  for (const spec of manifest.outputs) {
    const meta = outputs.get(spec.name);
    if (!meta)
      problems.push(`output '${spec.name}' is missing from the file (it has ${list(session.outputNames)})`);
    else problems.push(...compareTensor('output', spec, meta));
  }
  return problems;
}

function compareTensor(role: string, spec: TensorSpec, meta: InferenceSession.ValueMetadata): string[] {
  const what = `${role} '${spec.name}'`;
  if (!meta.isTensor) return [`${what} is not a tensor in the file`];
  const problems: string[] = [];
  if (meta.type !== spec.dtype)
    problems.push(`${what} is ${meta.type} in the file, ${spec.dtype} in the manifest`);
  // onnxruntime reports an undeclared shape as []; nothing can be checked then.
  const shape = meta.shape;
  if (shape.length === 0 && spec.shape.length > 0) return problems;
  if (shape.length !== spec.shape.length) {
    problems.push(
      `${what} has rank ${shape.length} [${shape}] in the file, ${spec.shape.length} [${spec.shape}] in the manifest`,
    );
    return problems;
  }
  spec.shape.forEach((want, axis) => {
    const have = shape[axis];
    const haveSymbolic = typeof have === 'string' || have < 0;
    if (haveSymbolic) return;
    if (typeof want === 'number' && want !== have)
      problems.push(`${what} dimension ${axis} is ${have} in the file, ${want} in the manifest`);
    if (typeof want === 'string')
      problems.push(
        `${what} dimension ${axis} is fixed to ${have} in the file, but the manifest's '${want}' varies`,
      );
  });
  return problems;
}

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `'${n}'`).join(', ');
}
