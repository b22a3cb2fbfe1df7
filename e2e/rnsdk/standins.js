// Stand-ins for the three native modules the official React Native SDK
// (@amityco/ts-sdk-react-native) imports, so that the SDK runs under
// Node.js unchanged: require this file before the SDK.
//
//   react-native                               Platform.OS = 'android'
//   @react-native-async-storage/async-storage  an in-memory store
//   @react-native-community/netinfo            always connected
//
// It also sets navigator.product to 'ReactNative', which is how the SDK
// decides that it runs in React Native (it then keeps its device id in
// AsyncStorage and reports "reactnative#…" as the device model).
const Module = require('module');

const storage = new Map();
const AsyncStorage = {
  getItem: async (k) => (storage.has(k) ? storage.get(k) : null),
  setItem: async (k, v) => { storage.set(k, String(v)); },
  removeItem: async (k) => { storage.delete(k); },
  clear: async () => { storage.clear(); },
  getAllKeys: async () => [...storage.keys()],
};
AsyncStorage.default = AsyncStorage;

const netState = { type: 'wifi', isConnected: true, isInternetReachable: true, details: {} };
const NetInfo = {
  addEventListener: (listener) => { setImmediate(() => listener(netState)); return () => {}; },
  fetch: async () => netState,
  useNetInfo: () => netState,
};
NetInfo.default = NetInfo;

const ReactNative = {
  Platform: { OS: 'android', Version: 34, select: (o) => ('android' in o ? o.android : o.default) },
  NativeModules: {},
  AppState: { currentState: 'active', addEventListener: () => ({ remove() {} }) },
};
ReactNative.default = ReactNative;

const standins = {
  'react-native': ReactNative,
  '@react-native-async-storage/async-storage': AsyncStorage,
  '@react-native-community/netinfo': NetInfo,
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (Object.prototype.hasOwnProperty.call(standins, request)) {
    return standins[request];
  }
  return load.call(this, request, parent, isMain);
};

Object.defineProperty(globalThis, 'navigator', {
  value: { product: 'ReactNative', userAgent: 'unknown_agent' },
  configurable: true,
  writable: true,
});

module.exports = { storage };
