// Drives the official social.plus TypeScript SDK (@amityco/ts-sdk) against a
// Gatehouse server. e2e/tssdk_test.go runs it with one JSON argument:
//   {http, mqtt, apiKey, userId, displayName?, authToken?, secureLogout?}
// and reads one JSON object per line from stdout: every session state the
// SDK reports, then the outcome of each step.
const { Client } = require('@amityco/ts-sdk');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// The SDK prints "Unsupported environment" under Node; keep stdout clean.
console.log = () => {};
console.warn = () => {};
console.info = () => {};

(async () => {
  const client = Client.createClient(cfg.apiKey, 'sg', {
    apiEndpoint: { http: cfg.http, mqtt: cfg.mqtt },
    rteEnabled: false,
  });
  // Under Node the default axios adapter breaks the SDK's interceptor
  // (wire spec §18); fetch behaves as in browsers.
  client.http.defaults.adapter = 'fetch';

  Client.onSessionStateChange((state) => out({ event: 'state', state }));

  try {
    const ok = await Client.login(
      { userId: cfg.userId, displayName: cfg.displayName, authToken: cfg.authToken },
      { sessionWillRenewAccessToken: (renewal) => renewal.renew() },
      { disableRTE: true },
    );
    out({ event: 'login', ok, state: client.sessionState, token: client.token });
  } catch (e) {
    out({ event: 'login', ok: false, state: client.sessionState, error: String((e && e.message) || e) });
    process.exit(0);
  }

  if (cfg.secureLogout) {
    try {
      await Client.secureLogout();
      out({ event: 'secureLogout', ok: true, state: client.sessionState });
    } catch (e) {
      out({ event: 'secureLogout', ok: false, state: client.sessionState, error: String((e && e.message) || e) });
    }
  }
  // The SDK keeps timers alive.
  process.exit(0);
})().catch((e) => {
  out({ event: 'crash', error: String((e && e.stack) || e) });
  process.exit(1);
});
