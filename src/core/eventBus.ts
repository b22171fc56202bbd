import { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

/**
 * A typed in-process event bus. A listener that throws is logged and skipped: one broken
 * stage must not stop the frame that reached it from reaching the others.
 */
export class EventBus<Events extends { [K in keyof Events]: unknown }> {
  private readonly emitter = new EventEmitter();

  constructor(private readonly log: Logger) {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(name: K, listener: (payload: Events[K]) => void | Promise<void>): () => void {
    const wrapped = (payload: Events[K]) => {
      try {
        const result = listener(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.reportListenerError(name, err));
      } catch (err) {
        this.reportListenerError(name, err);
      }
    };
    this.emitter.on(name, wrapped);
    return () => this.emitter.off(name, wrapped);
  }

  emit<K extends keyof Events & string>(name: K, payload: Events[K]): void {
    this.emitter.emit(name, payload);
  }

  removeAll(): void {
    this.emitter.removeAllListeners();
  }

  private reportListenerError(name: string, err: unknown): void {
    this.log.error({ err, event: name }, 'event listener failed');
  }
}
