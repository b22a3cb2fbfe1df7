// Drives the official social.plus React Native SDK
// (@amityco/ts-sdk-react-native) under Node.js against a Gatehouse server.
// e2e/rnsdk_test.go runs it with one JSON argument:
//   {http, apiKey, steps: [...], deviceId?}
// Each step is one of
//   {do: "visitor", authSignature?, authSignatureExpiresAt?}   Client.loginAsVisitor
//   {do: "bot"}                                               Client.loginAsBot
//   {do: "accessToken", token}                                Client.loginWithAccessToken
//   {do: "logout"}                                            Client.logout (local)
//   {do: "secureLogout"}                                      Client.secureLogout
// and it prints one JSON object per line: every session state the SDK
// reports, then the outcome of each step (the SDK's state, current user and
// user type, and its access token).
const { storage } = require('./standins');
const { Client } = require('@amityco/ts-sdk-react-native');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

console.log = () => {};
console.warn = () => {};
console.info = () => {};

// A device id the app already saved (secure visitor mode signs it).
if (cfg.deviceId) storage.set('#deviceId', cfg.deviceId);

const sessionHandler = { sessionWillRenewAccessToken: (renewal) => renewal.renew() };

function current(client) {
  let userType = null;
  try { userType = Client.getCurrentUserType(); } catch (e) { userType = null; }
  let user = null;
  try { const u = Client.getActiveUser(); user = { userId: u.userId, _id: u._id }; } catch (e) { user = null; }
  return { state: client.sessionState, userType, user, accessToken: client.token && client.token.accessToken };
}

(async () => {
  const client = Client.createClient(cfg.apiKey, 'sg', {
    apiEndpoint: { http: cfg.http, mqtt: cfg.http.replace(/^http/, 'ws') + '/mqtt' },
    rteEnabled: false,
  });
  // Under Node the default axios adapter breaks the SDK's interceptor
  // (wire spec §18); fetch behaves as in React Native.
  client.http.defaults.adapter = 'fetch';
  Client.onSessionStateChange((state) => out({ event: 'state', state }));

  for (const step of cfg.steps) {
    try {
      let ok;
      switch (step.do) {
        case 'visitor': {
          const p = { sessionHandler };
          if (step.authSignature) {
            p.authSignature = step.authSignature;
            p.authSignatureExpiresAt = step.authSignatureExpiresAt;
          }
          ok = await Client.loginAsVisitor(p);
          break;
        }
        case 'bot':
          ok = await Client.loginAsBot({ sessionHandler });
          break;
        case 'accessToken':
          Client.setAccessTokenHandler({ onTokenRenew: async () => step.token });
          ok = await Client.loginWithAccessToken(step.token);
          break;
        case 'logout':
          ok = await Client.logout();
          break;
        case 'secureLogout':
          ok = await Client.secureLogout();
          break;
        default:
          throw new Error('unknown step ' + step.do);
      }
      out({ event: step.do, ok: ok !== false, deviceId: storage.get('#deviceId'), ...current(client) });
    } catch (e) {
      out({ event: step.do, ok: false, error: String((e && e.message) || e), code: e && e.code, ...current(client) });
    }
  }
  // The SDK keeps timers alive.
  process.exit(0);
})().catch((e) => {
  out({ event: 'crash', error: String((e && e.stack) || e) });
  process.exit(1);
});
