/**
 * @module A candidate source wrapped to add up the time spent in its reads and count them, for the
 * benchmarks: every read the tracer may call is passed through, timed, so the tracer takes the same
 * path as without the wrapper.
 */
import type { Candidate, CandidateSource, PlaceWindow } from '../../src/trace/candidate-source.ts';

/** Wraps a source to add up the time spent in its reads and count them (a batched read counts once). */
export class TimedSource implements CandidateSource {
  readMs = 0;
  reads = 0;
  readonly name: string;
  firstDegree?: CandidateSource['firstDegree'];
  firstDegreeMany?: CandidateSource['firstDegreeMany'];
  constructor(private readonly inner: CandidateSource) {
    this.name = inner.name;
    // The optional batched reads are passed through (timed) when the source has them, so the tracer takes the same path as without the wrapper.
    const one = inner.firstDegree?.bind(inner);
    if (one) this.firstDegree = (idents, from, to) => this.time(() => one(idents, from, to));
    const many = inner.firstDegreeMany?.bind(inner);
    if (many) this.firstDegreeMany = (reads) => this.time(() => many(reads));
    const of = inner.presencesOfInto?.bind(inner);
    if (of) this.presencesOfInto = (i, f, t, out) => this.timeSync(() => of(i, f, t, out));
    const at = inner.presencesAtInto?.bind(inner);
    if (at) this.presencesAtInto = (q, out) => this.timeSync(() => at(q, out));
  }
  presencesOfInto?: CandidateSource['presencesOfInto'];
  presencesAtInto?: CandidateSource['presencesAtInto'];
  private timeSync(run: () => void): void {
    const t0 = performance.now();
    this.reads++;
    run();
    this.readMs += performance.now() - t0;
  }
  private async time<T>(run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    this.reads++;
    try {
      return await run();
    } finally {
      this.readMs += performance.now() - t0;
    }
  }
  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    return this.time(() => this.inner.presencesOf(idents, from, to));
  }
  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    return this.time(() => this.inner.presencesAt(queries));
  }
}
