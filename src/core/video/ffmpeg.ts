/** core/video: process-wide FFmpeg settings, applied when video is first used (never at import). */
import { Log } from 'node-av/lib';
import { AV_LOG_QUIET } from 'node-av/constants';

let quiet = false;

/**
 * FFmpeg prints codec chatter to stderr; our errors carry the message instead. Called by every
 * entry point that opens a file, so an application that imports clearsight but never touches
 * video keeps its own FFmpeg log level.
 */
export function quietFfmpeg(): void {
  if (quiet) return;
  Log.setLevel(AV_LOG_QUIET);
  quiet = true;
}
