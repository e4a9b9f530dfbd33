/** clearsight/trust: invisible watermarking (embed, verify, extract) and deepfake forensics. */
export * from './watermark/index.js';
export * from './forensics/index.js';
export { analyzeMedia as analyzeForensics, runStudy as runReliabilityStudy } from './forensics/index.js';
