/**
 * One student network and its teacher, benchmarked side by side on the same images in one run
 * (`npm run bench:students`). Each student lives in its own module under bench/students/ and
 * exports `bench: StudentBench`; bench/students.ts runs them all and writes JSON + a PNG plot.
 */
export interface StudentRow {
  /** Which network: the student's or the teacher's model name. */
  readonly model: string;
  readonly role: 'student' | 'teacher' | 'baseline';
  /** Evaluation set, and how it relates to the student's training (`cross-source`, `held-out`, `training`). */
  readonly dataset: string;
  readonly split: 'cross-source' | 'held-out' | 'training';
  readonly images: number;
  /** Metrics with their convention in the name, e.g. `psnrY` (MATLAB Y, no crop), `ssimY`, `psnrRgb`. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly secondsPerMegapixel: number;
  readonly peakRssMiB: number;
  /** Further measured figures (optional), e.g. `megapixel12Seconds`, or a path such as `contactSheet`. */
  readonly extra?: Readonly<Record<string, number | string>>;
}

export interface StudentBench {
  readonly name: string;
  /** Runs student and teacher on the same images; `dataRoot` is ../shared/data unless overridden. */
  run(opts: { dataRoot: string; limit?: number; outDir: string; threads: number; teacherFrom?: TeacherFrom }): Promise<StudentRow[]>;
}

/**
 * The teacher's rows of an earlier bench:students run, reused instead of rerunning a slow teacher
 * (--teacher-from FILE). Its rows keep their own timings: a speed ratio against them compares two runs.
 */
export interface TeacherFrom {
  /** The earlier run's JSON (its path, for the notes). */
  readonly file: string;
  readonly rows: ReadonlyArray<StudentRow & { bench: string }>;
  /** Where that run wrote its outputs (its --out), for outputs a bench reuses, such as contact-sheet images. */
  readonly outDir: string;
}
