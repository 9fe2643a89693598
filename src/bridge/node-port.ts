/**
 * Frame ports on the host's side: Node's `worker_threads` `MessagePort`, Electron's
 * `MessagePortMain` (a utility process's or the main process's end of a renderer's port)
 * and a `ws` socket. Electron's and `ws`'s types are described here structurally, so the
 * package's declarations need neither installed; a type test checks that their own
 * types fit.
 */
import type { MessagePort } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import { decodeText, type FramePort } from './port.js';

/** A `worker_threads` `MessagePort` as a frame port (structured clone carries the frames). */
export function nodePort(port: MessagePort): FramePort {
  return emitterPort(port, (onMessage, onClose) => {
    port.on('message', onMessage);
    port.on('close', onClose);
    return () => {
      port.off('message', onMessage);
      port.off('close', onClose);
    };
  });
}

/** The part of Electron's `MessagePortMain` the bridge uses. */
export interface ElectronPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { readonly data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'message', listener: (event: { readonly data: unknown }) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  start(): void;
  close(): void;
}

/** The part of a `ws` `WebSocket` (a server's connection) the bridge uses. */
export interface WsSocketLike {
  send(data: string): void;
  on(
    event: 'message',
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(
    event: 'message',
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): unknown;
  off(event: 'close', listener: () => void): unknown;
  close(): void;
}

/**
 * An Electron `MessagePortMain` as a frame port: Electron hands each message as
 * `{ data, ports }`, and reports the renderer's end closing (a reload, a crash) as `close`.
 */
export function electronPort(port: ElectronPortLike): FramePort {
  return emitterPort(port, (onMessage, onClose) => {
    const message = (event: { readonly data: unknown }): void => onMessage(event.data);
    port.on('message', message);
    port.on('close', onClose);
    return () => {
      port.off('message', message);
      port.off('close', onClose);
    };
  });
}

/**
 * Node's and Electron's ports: `listen` adds the message and close listeners and returns
 * their removal.
 */
function emitterPort(
  port: { postMessage(message: unknown): void; start(): void; close(): void },
  listen: (onMessage: (data: unknown) => void, onClose: () => void) => () => void,
): FramePort {
  let closed = false;
  return {
    send: (frame) => port.postMessage(frame),
    start(onFrame, onClose) {
      const detach = listen(onFrame, () => {
        detach();
        onClose();
      });
      port.start();
    },
    close() {
      if (closed) return;
      closed = true;
      // The port's own close event removes the listeners and tells the owner.
      port.close();
    },
  };
}

/**
 * A `ws` socket (the host's end of a dashboard's WebSocket) as a frame port: frames as
 * JSON text; a message longer than `maxFrameBytes` is refused before it is decoded (give
 * the server a `maxPayload` too, so `ws` does not buffer more than that).
 */
export function wsPort(
  socket: WsSocketLike,
  options: { readonly maxFrameBytes?: number } = {},
): FramePort {
  const maxBytes = options.maxFrameBytes ?? 65_536;
  let detach = (): void => undefined;
  let closed = false;
  return {
    send(frame) {
      socket.send(JSON.stringify(frame));
    },
    start(onFrame, onClose) {
      const message = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
        const size = Array.isArray(data)
          ? data.reduce((n, b) => n + b.length, 0)
          : data instanceof ArrayBuffer
            ? data.byteLength
            : data.length;
        if (isBinary) {
          onFrame(new ProtocolError('a WebSocket frame must be text', { reason: 'malformed' }));
        } else if (size > maxBytes) {
          onFrame(
            new ProtocolError(`a frame must be at most ${maxBytes} bytes`, { reason: 'too-large' }),
          );
        } else {
          const bytes = Array.isArray(data)
            ? Buffer.concat(data)
            : data instanceof ArrayBuffer
              ? Buffer.from(data)
              : data;
          onFrame(decodeText(bytes.toString('utf8'), maxBytes));
        }
      };
      const close = (): void => {
        detach();
        onClose();
      };
      socket.on('message', message);
      socket.on('close', close);
      detach = () => {
        socket.off('message', message);
        socket.off('close', close);
      };
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
