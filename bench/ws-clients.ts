// Child process of bench/ws-fanout.ts: opens N WebSocket clients on a URL, subscribes them
// (when told to), prints "ready", then prints "reached <k>" each time every client has received
// k * batch data messages. Kept out of the server's process so that the clients' CPU is not
// charged to the server.
import WebSocket from 'ws';

const [url, nText, batchText, subscribe] = process.argv.slice(2);
const n = Number(nText);
const batch = Number(batchText);
const counts = new Array<number>(n).fill(0);
let reported = 0;

function check(): void {
  const least = Math.min(...counts);
  while (least >= (reported + 1) * batch) {
    reported++;
    console.log(`reached ${reported}`);
  }
}

await Promise.all(
  counts.map(
    (_, i) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url!);
        ws.on('error', reject);
        ws.on('message', (data) => {
          // Frames start with {"seq":N,"type":"...": count data messages only, without parsing.
          const head = (data as Buffer).toString('latin1', 0, 40);
          if (head.includes('"type":"subscribed"')) return resolve();
          if (head.includes('"type":"segment"')) {
            counts[i]!++;
            check();
          }
        });
        ws.on('open', () => {
          if (subscribe === 'subscribe') ws.send('{"op":"subscribe"}');
          else resolve();
        });
      }),
  ),
);
console.log('ready');
