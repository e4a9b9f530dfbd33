/**
 * core/video: the one video reader and writer (node-av over the bundled FFmpeg) that vsr,
 * liveness, forensics and the server's upload check all use. See docs/video.md.
 */
export {
  decodeVideo,
  decodeVideoRgb,
  readVideoFrames,
  probeVideo,
  parseMotionVectors,
  intraMap,
  orientationFromDisplayMatrix,
  displayMatrixForRotation,
  orientPlane,
  IDENTITY_ORIENTATION,
  MACROBLOCK,
  type DecodedFrame,
  type RgbFrame,
  type VideoClip,
  type ReadVideoOptions,
  type VideoDecodeOptions,
  type MotionVector,
  type Orientation,
  type PictureType,
  type VideoInfo,
} from './decode.js';
export { VideoWriter, VIDEO_ENCODERS, type VideoEncoder, type VideoEncodeOptions } from './encode.js';
export { yuvToRgb, rgbToYuv, type YuvFrame, type ColourMatrix, type ColourRange } from './colour.js';
