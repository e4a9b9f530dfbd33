/**
 * Names of the restoration commands. Kept free of imports: the launcher reads it to decide, before
 * loading the library, which invocations run under the supervisor (see ../supervisor.ts).
 */
export const RESTORE_COMMANDS = [
  'derain',
  'dehaze',
  'lowlight',
  'denoise',
  'deblur',
  'retouch',
  'upscale',
  'hdr',
  'vsr',
  'liveness',
  'liveness-calibrate',
  'faces',
  'compare',
  'watermark',
  'forensics',
  'batch',
] as const;

export type RestoreCommandName = (typeof RESTORE_COMMANDS)[number];
