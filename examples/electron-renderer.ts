/**
 * Electron: the page (renderer). It imports only the bridge's client, which has no Node
 * imports, so a bundler packs it for the page as it is.
 */
import { browserPort, connectWorkbus, type MessagePortLike } from 'workbus/bridge';

/** The page's `window`, as far as this script uses it (no DOM types in this project). */
declare const window: {
  addEventListener(
    type: 'message',
    listener: (event: { data: unknown; ports: readonly MessagePortLike[] }) => void,
  ): void;
};

window.addEventListener('message', (event) => {
  const [port] = event.ports;
  if (event.data !== 'workbus' || port === undefined) return;
  void (async () => {
    const client = await connectWorkbus(browserPort(port));
    const job = await client.submit('thumbnail', 'photo.jpg', {
      onUpdate: (view) => console.log(`${view.status} ${Math.round(view.progress * 100)}%`),
    });
    console.log(await job.result);
  })();
});
