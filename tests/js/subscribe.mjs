// One subscription through a real third-party client; each result is printed as one JSON line.
// usage: node subscribe.mjs <ws|sse> <url> <query> <variables JSON> <count>
// Exits 0 after <count> results, 1 on an error (printed as {"error": ...}).
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [transport, url, query, variablesJson, countText] = process.argv.slice(2);
const variables = JSON.parse(variablesJson);
const count = Number(countText);

const client =
  transport === "ws"
    ? createWsClient({ url, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 })
    : createSseClient({ url, singleConnection: false, retryAttempts: 0 });

let received = 0;
const finish = (code) => {
  client.dispose();
  process.exit(code);
};

client.subscribe(
  { query, variables },
  {
    next: (result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      received += 1;
      if (received >= count) finish(0);
    },
    error: (error) => {
      const text = error instanceof Error ? error.message : JSON.stringify(error);
      process.stdout.write(JSON.stringify({ error: text }) + "\n");
      finish(1);
    },
    complete: () => finish(received >= count ? 0 : 1),
  },
);
