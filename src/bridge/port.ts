/**
 * The transport a bridge runs over, and its adapters for standard (browser) objects: a
 * DOM `MessagePort` and a standard `WebSocket`. Node's and Electron's ports and the `ws`
 * package's sockets are in `node-port.ts`, so this module (and the client) import nothing
 * from Node. The interfaces below are structural: the DOM's own types fit them.
 */
import { ProtocolError } from '../errors.js';

/** A two-way channel of frames: what the host and the client run over. */
export interface FramePort {
  /** Sends one frame (plain data). Throws if it cannot (data that does not clone, a closed socket). */
  send(frame: unknown): void;
  /**
   * Starts delivery, once: each frame that arrives to `onFrame` (or a `ProtocolError` for
   * one that could not be decoded), and the end of the channel (the other side closed
   * or went away) to `onClose`, once.
   */
  start(onFrame: (frame: unknown) => void, onClose: () => void): void;
  /** Closes the channel and removes every listener it added. Idempotent. */
  close(): void;
}

/** The part of a DOM `MessagePort` (a renderer's, a browser's) the bridge uses. */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  start(): void;
  close(): void;
}

/** The part of a standard `WebSocket` (a browser's; `ws`'s client fits too) the bridge uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  removeEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  removeEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  close(code?: number, reason?: string): void;
}

/**
 * A DOM `MessagePort` as a frame port (structured clone carries the frames). A DOM port
 * reports no close, so a client on one learns of the end only from `close()`; the host's
 * side (Node, Electron) does see it.
 */
export function browserPort(port: MessagePortLike): FramePort {
  let listener: ((event: { readonly data: unknown }) => void) | undefined;
  let closed = false;
  return {
    send: (frame) => port.postMessage(frame),
    start(onFrame) {
      listener = (event) => onFrame(event.data);
      port.addEventListener('message', listener);
      port.start();
    },
    close() {
      if (closed) return;
      closed = true;
      if (listener !== undefined) port.removeEventListener('message', listener);
      port.close();
    },
  };
}

const CONNECTING = 0;
const OPEN = 1;

/**
 * A standard `WebSocket` as a frame port: frames as JSON text. Frames sent while it is
 * still connecting wait for it to open (at most `maxQueued`; the client sends only its
 * `hello` and its subscriptions then). A text longer than `maxFrameBytes` is refused
 * before it is parsed.
 */
export function webSocketPort(
  socket: WebSocketLike,
  options: { readonly maxFrameBytes?: number; readonly maxQueued?: number } = {},
): FramePort {
  const maxBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  const maxQueued = options.maxQueued ?? 64;
  const queued: string[] = [];
  const listeners: (() => void)[] = [];
  let closed = false;
  const on = (type: 'open' | 'close' | 'error', fn: () => void): void => {
    socket.addEventListener(type, fn);
    listeners.push(() => socket.removeEventListener(type, fn));
  };
  const detach = (): void => {
    for (const off of listeners.splice(0)) off();
  };
  on('open', () => {
    for (const text of queued.splice(0)) socket.send(text);
  });
  return {
    send(frame) {
      const text = JSON.stringify(frame);
      if (socket.readyState === OPEN) socket.send(text);
      else if (socket.readyState === CONNECTING && queued.length < maxQueued) queued.push(text);
      else throw new Error(`The WebSocket is not open (readyState ${socket.readyState})`);
    },
    start(onFrame, onClose) {
      const message = (event: { readonly data: unknown }): void =>
        onFrame(decodeText(event.data, maxBytes));
      socket.addEventListener('message', message);
      listeners.push(() => socket.removeEventListener('message', message));
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        detach();
        onClose();
      };
      on('close', end);
      on('error', end);
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}

/** A JSON text frame, decoded; a `ProtocolError` for one too long or not JSON. */
export function decodeText(data: unknown, maxBytes: number): unknown {
  if (typeof data !== 'string') {
    return new ProtocolError('a WebSocket frame must be JSON text', { reason: 'malformed' });
  }
  // A character is at least one byte of UTF-8: a text longer than the limit is over it.
  if (data.length > maxBytes) {
    return new ProtocolError(`a frame must be at most ${maxBytes} bytes`, { reason: 'too-large' });
  }
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return new ProtocolError('a WebSocket frame must be JSON', { reason: 'malformed' });
  }
}
