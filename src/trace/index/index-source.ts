/**
 * @module The in-memory index as a `CandidateSource`: the tracer's reads answered by binary searches
 * over the sorted arrays (and the live tail) without leaving the process, written straight into the
 * tracer's columns.
 */
import { CandidateColumns, type Candidate, type CandidateSource, type PlaceWindow } from '../candidate-source.ts';
import type { PresenceIndex } from './presence-index.ts';

export class IndexCandidateSource implements CandidateSource {
  readonly name = 'index';
  constructor(private readonly index: PresenceIndex) {}

  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    const out = new CandidateColumns();
    this.presencesOfInto(idents, from, to, out);
    return Promise.resolve(out.toArray());
  }

  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    const out = new CandidateColumns();
    this.presencesAtInto(queries, out);
    return Promise.resolve(out.toArray());
  }

  presencesOfInto(idents: readonly number[], from: number, to: number, out: CandidateColumns): void {
    for (const id of idents) this.index.collectOf(id, from, to, out);
  }

  presencesAtInto(queries: readonly PlaceWindow[], out: CandidateColumns): void {
    for (const q of queries) this.index.collectAt(q.place, q.from, q.to, out);
  }
}
