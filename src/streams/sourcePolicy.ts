// Which sources a caller may open. Streams named by the operator (command line, config file) are
// trusted; streams added at run time through the REST API are checked against a policy first, because
// a source string is handed to ffmpeg, which can also read and write local files (lavfi filters,
// the concat and file protocols) and reach local services. The default lets the API add network
// cameras and streams only.
//
// Public API: SourcePolicy, DEFAULT_SOURCE_POLICY, SourcePolicyError (checkSource is added next to it).

export interface SourcePolicy {
  /** URL schemes the API may use, lower case (default rtsp, rtsps, http, https, srt). */
  schemes: readonly string[];
  /** Folders whose files the API may open (absolute, resolved; default none). */
  fileDirs: readonly string[];
  /** Whether the API may use `lavfi:` graphs (default false: they can read and write files). */
  lavfi: boolean;
}

export const DEFAULT_SOURCE_POLICY: SourcePolicy = {
  schemes: ['rtsp', 'rtsps', 'http', 'https', 'srt'],
  fileDirs: [],
  lavfi: false,
};

/** A source the policy does not allow; the message says which rule and how an operator allows it. */
export class SourcePolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourcePolicyError';
  }
}
