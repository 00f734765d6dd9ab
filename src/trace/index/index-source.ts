/**
 * @module The in-memory index as a `CandidateSource`: the tracer's reads answered by binary searches
 * over the sorted arrays (and the live tail) without leaving the process.
 */
import type { Candidate, CandidateSource, PlaceWindow } from '../candidate-source.ts';
import type { PresenceIndex } from './presence-index.ts';

export class IndexCandidateSource implements CandidateSource {
  readonly name = 'index';
  constructor(private readonly index: PresenceIndex) {}

  presencesOf(idents: readonly number[], from: number, to: number): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const id of idents) this.index.collectOf(id, from, to, out);
    return Promise.resolve(out);
  }

  presencesAt(queries: readonly PlaceWindow[]): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const q of queries) this.index.collectAt(q.place, q.from, q.to, out);
    return Promise.resolve(out);
  }
}
