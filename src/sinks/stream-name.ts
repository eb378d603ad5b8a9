// Stream names label metrics and messages. They are configured names, never source URLs:
// URLs may carry credentials, and they would end up in every scrape and every client.

export const MAX_STREAM_NAME_LENGTH = 64;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:|\/|@/i;

/** Why `name` is not a valid stream name, or undefined when it is. */
export function streamNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'stream name is empty';
  if (URL_LIKE.test(name)) {
    // Not echoed: it may hold credentials.
    return 'stream name looks like a URL or path; use a short configured name such as cam1 (URLs may carry credentials)';
  }
  if (name.length > MAX_STREAM_NAME_LENGTH)
    return `stream name is longer than ${MAX_STREAM_NAME_LENGTH} characters`;
  if (!NAME.test(name)) {
    return `stream name "${name}" may use only letters, digits, ".", "_" and "-", starting with a letter or digit`;
  }
  return undefined;
}

/** Throws a TypeError naming the problem when `name` is not a valid stream name. */
export function assertStreamName(name: string): void {
  const problem = streamNameProblem(name);
  if (problem) throw new TypeError(problem);
}
