// Source URLs may carry credentials (rtsp://user:password@camera/...). Whatever the sinks send
// out (REST answers, status reasons quoting ffmpeg errors) goes through here first.

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;

/** Replaces the user-info part of every URL in `text`: rtsp://user:secret@host -> rtsp://***@host. */
export function maskCredentials(text: string): string {
  return text.replace(USERINFO, '$1***@');
}
