/**
 * @module The loop's event bus as a source of live events: each loop event becomes a server-sent
 * event of the same type, shown to users whose subtree holds one of its jurisdictions.
 */
import type { EventBus } from '../services/events.ts';
import type { LiveEvent, LiveEventSource } from './live-events.ts';

export function loopEventSource(bus: EventBus): LiveEventSource {
  return {
    subscribe(listener: (event: LiveEvent) => void): () => void {
      return bus.subscribe((e) => {
        const { type, jurisdictions, ...data } = e;
        // Loop events carry record ids and units only, never identifiers (events.ts), so they go out as they are.
        listener({ type, jurisdictions, data: { type, ...data, jurisdictions } });
      });
    },
  };
}
