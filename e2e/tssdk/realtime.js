// Drives the official social.plus TypeScript SDK with realtime (MQTT over
// WebSocket) enabled. e2e/realtime_test.go runs it with one JSON argument
// {http, mqtt, apiKey, userId} and talks to it line by line:
//   stdout: {"event":"state","state":…,"at":ms}, {"event":"login",…},
//           {"event":"mqtt","connected":true}, {"event":"status",…},
//           {"event":"reconnect","refused":bool,"code":n}
//   stdin:  "status" | "reconnect" | "exit"
// The SDK bundles the browser build of mqtt.js, which uses the global
// WebSocket of browsers and React Native; Node.js 20 has none, so ws stands
// in for it (as an app's Node polyfill would).
globalThis.WebSocket = require('ws');
const { Client } = require('@amityco/ts-sdk');
const mqtt = require('mqtt');
const readline = require('readline');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
console.log = () => {};
console.warn = () => {};
console.info = () => {};

let client;
let token;
let internalId;

async function main() {
  client = Client.createClient(cfg.apiKey, 'sg', { apiEndpoint: { http: cfg.http, mqtt: cfg.mqtt } });
  client.http.defaults.adapter = 'fetch';
  Client.onSessionStateChange((state) => out({ event: 'state', state, at: Date.now() }));
  try {
    const ok = await Client.login({ userId: cfg.userId }, { sessionWillRenewAccessToken: (r) => r.renew() });
    token = client.token.accessToken;
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    internalId = payload.user.userId;
    out({ event: 'login', ok, state: client.sessionState });
  } catch (e) {
    out({ event: 'login', ok: false, error: String((e && e.message) || e) });
    process.exit(0);
  }
  // Wait until the SDK's MQTT client is connected (it connects without
  // awaiting after login).
  const start = Date.now();
  while (!client.mqtt.connected) {
    if (Date.now() - start > 10000) {
      out({ event: 'mqtt', connected: false });
      process.exit(0);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  out({ event: 'mqtt', connected: true });
}

// reconnect tries a fresh MQTT connection with the session's token, as the
// SDK's reconnect would, and reports the CONNACK.
function reconnect() {
  const c = mqtt.connect(cfg.mqtt, {
    username: internalId, password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
    clientId: 'mqttjs_e2e_' + Date.now(),
  });
  let done = false;
  const finish = (o) => { if (!done) { done = true; out(o); c.end(true); } };
  c.on('connect', () => finish({ event: 'reconnect', refused: false }));
  c.on('error', (e) => finish({ event: 'reconnect', refused: true, code: e.code }));
  c.on('close', () => finish({ event: 'reconnect', refused: true, code: -1 }));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  switch (line.trim()) {
    case 'status':
      out({ event: 'status', state: client.sessionState, mqttConnected: !!(client.mqtt && client.mqtt.connected) });
      break;
    case 'reconnect':
      reconnect();
      break;
    case 'exit':
      process.exit(0);
  }
});

main().catch((e) => {
  out({ event: 'crash', error: String((e && e.stack) || e) });
  process.exit(1);
});
