/**
 * Electron: the preload script. A MessagePort cannot cross contextBridge, so it is passed
 * to the page with window.postMessage, as Electron's documentation does.
 */
import { ipcRenderer } from 'electron';

/** The page's `window`, as far as this script uses it (no DOM types in this project). */
declare const window: { postMessage(message: unknown, origin: string, transfer: unknown[]): void };

ipcRenderer.on('workbus', (event) => window.postMessage('workbus', '*', event.ports));
