/**
 * @module Dictionary ids ⇄ names held in memory: for tests, the benchmark, and as a cache in front of
 * a store so a trace does not wait on the store for names.
 */
import type { TraceDictionary } from './candidate-source.ts';

export class MemoryDictionary implements TraceDictionary {
  private readonly identIds = new Map<string, number>();
  constructor(private readonly identNames: string[] = [], private readonly placeNames: string[] = []) {
    identNames.forEach((k, i) => this.identIds.set(k, i));
  }

  /** Adds or returns the id of an identifier key. */
  ident(key: string): number {
    let id = this.identIds.get(key);
    if (id === undefined) {
      id = this.identNames.length;
      this.identNames.push(key);
      this.identIds.set(key, id);
    }
    return id;
  }

  /** Sets the `kind:id` name of a place id. */
  setPlace(id: number, key: string): void {
    this.placeNames[id] = key;
  }

  identifierKeys(ids: readonly number[]): Promise<string[]> {
    return Promise.resolve(ids.map((i) => this.identNames[i] ?? `?${i}`));
  }

  identifierIds(idKeys: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const k of idKeys) {
      const id = this.identIds.get(k);
      if (id !== undefined) out.set(k, id);
    }
    return Promise.resolve(out);
  }

  knownIdentifierKey(id: number): string | undefined {
    return this.identNames[id];
  }

  knownPlaceKey(id: number): string | undefined {
    return this.placeNames[id];
  }

  placeKeys(ids: readonly number[]): Promise<string[]> {
    return Promise.resolve(ids.map((i) => this.placeNames[i] ?? `?${i}`));
  }
}
