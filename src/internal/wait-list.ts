/**
 * A FIFO of parked callers with O(1) removal from anywhere, which an abort needs.
 * Each waiter owns its abort listener: granting or rejecting a waiter unlinks it and
 * removes that listener in the same synchronous step, so a waiter is settled exactly
 * once and a caller's signal never keeps a listener after its wait ends.
 * Internal: used by the sync primitives and Channel.
 */
import { abortErrorOf, onAbort } from '../abort.js';

/** A parked caller: `data` describes what it waits for. */
export interface Waiter<D> {
  readonly data: D;
}

interface Node<D, R> extends Waiter<D> {
  prev: Node<D, R> | undefined;
  next: Node<D, R> | undefined;
  linked: boolean;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

export class WaitList<D, R> {
  #head: Node<D, R> | undefined;
  #tail: Node<D, R> | undefined;
  #size = 0;

  /** Number of parked waiters. */
  get size(): number {
    return this.#size;
  }

  /** The longest-waiting waiter, if any. */
  peek(): Waiter<D> | undefined {
    return this.#head;
  }

  /**
   * Parks a caller at the back. If `signal` aborts while it is parked, the waiter is
   * removed, its promise rejects with the abort error, and `afterAbort` runs (so the
   * owner can serve whoever the departed waiter was blocking). The caller must have
   * checked `signal.aborted` already.
   */
  park(data: D, signal: AbortSignal | undefined, afterAbort?: () => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const node: Node<D, R> = {
        data,
        prev: this.#tail,
        next: undefined,
        linked: true,
        resolve,
        reject,
        detach: noop,
      };
      if (this.#tail) this.#tail.next = node;
      else this.#head = node;
      this.#tail = node;
      this.#size++;
      if (signal) {
        node.detach = onAbort(signal, () => {
          this.#unlink(node);
          reject(abortErrorOf(signal));
          afterAbort?.();
        });
      }
    });
  }

  /** Removes `waiter` and resolves its promise with `value`. */
  grant(waiter: Waiter<D>, value: R): void {
    const node = waiter as Node<D, R>;
    this.#unlink(node);
    node.detach();
    node.resolve(value);
  }

  /** Removes `waiter` and rejects its promise with `error`. */
  refuse(waiter: Waiter<D>, error: unknown): void {
    const node = waiter as Node<D, R>;
    this.#unlink(node);
    node.detach();
    node.reject(error);
  }

  /** Rejects every parked waiter with the error `makeError` returns for it, oldest first. */
  refuseAll(makeError: (waiter: Waiter<D>) => unknown): void {
    for (let node = this.#head; node; node = this.#head) this.refuse(node, makeError(node));
  }

  #unlink(node: Node<D, R>): void {
    if (!node.linked) return;
    node.linked = false;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = undefined;
    this.#size--;
  }
}

function noop(): void {}
