/**
 * Electron: the main process. It starts the utility process and gives each window one end
 * of a MessageChannelMain, the utility process the other; it never touches the pool.
 */
import { BrowserWindow, MessageChannelMain, app, utilityProcess } from 'electron';

await app.whenReady();
const host = utilityProcess.fork(new URL('./electron-utility.js', import.meta.url).pathname);
const window = new BrowserWindow({
  webPreferences: { preload: new URL('./electron-preload.js', import.meta.url).pathname },
});
window.webContents.on('did-finish-load', () => {
  // A fresh channel per page load: the old page's port closed with it.
  const { port1, port2 } = new MessageChannelMain();
  host.postMessage('workbus', [port1]);
  window.webContents.postMessage('workbus', null, [port2]);
});
await window.loadFile('index.html');
