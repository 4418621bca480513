// A person on Element's own crypto stack: matrix-js-sdk with its Rust crypto (the
// WebAssembly build Element Web ships), signing in with a password and then doing
// what connec's tests tell it, one JSON command a line on stdin. It reports what it
// sees, one JSON object a line on stdout: invitations, messages (decrypted, or the
// reason they could not be), answers to commands. Nothing else goes to stdout.
//
// Like Element with "exclude insecure devices" on, it shares room keys only with
// devices their owners have cross-signed: a bot whose device is not cross-signed
// cannot read what this person writes.
//
//   node person.mjs <homeserver URL> <user ID> <password>
import readline from "node:readline";

// matrix-js-sdk 43 asks for Node 22; Node 20, which the machines have, lacks only this.
Promise.withResolvers ??= function withResolvers() {
  let resolve, reject;
  const promise = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
};

// The SDK logs freely; keep stdout for the protocol.
for (const name of ["log", "info", "debug", "warn", "error", "trace"]) {
  console[name] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

const sdk = await import("matrix-js-sdk");
const { OnlySignedDevicesIsolationMode } = await import("matrix-js-sdk/lib/crypto-api/index.js");

const [baseUrl, userId, password] = process.argv.slice(2);
const out = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild() { return quiet; } };

const login = await sdk.createClient({ baseUrl, logger: quiet }).loginRequest({
  type: "m.login.password",
  identifier: { type: "m.id.user", user: userId },
  password,
  initial_device_display_name: "Element (test)",
});
const client = sdk.createClient({
  baseUrl,
  userId: login.user_id,
  deviceId: login.device_id,
  accessToken: login.access_token,
  logger: quiet,
});
await client.initRustCrypto({ useIndexedDB: false });
// As Element does at a first sign-in: make the account's cross-signing identity, so
// its own device is signed (with "exclude insecure devices", Element will not send
// from an account without one).
await client.getCrypto().bootstrapCrossSigning({
  authUploadDeviceSigningKeys: (makeRequest) =>
    makeRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: userId },
      password,
    }),
});
client.getCrypto().setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());

function report(event) {
  if (event.isBeingDecrypted()) return; // the Decrypted event follows
  const base = {
    room: event.getRoomId(),
    sender: event.getSender(),
    event_id: event.getId(),
    ts: event.getTs(),
  };
  if (event.isDecryptionFailure()) {
    out({ type: "undecryptable", ...base, reason: String(event.decryptionFailureReason) });
  } else if (event.getType() === "m.room.message") {
    out({ type: "message", ...base, body: event.getContent().body, encrypted: event.isEncrypted() });
  } else if (event.getType() === "m.reaction") {
    const relates = event.getContent()["m.relates_to"] ?? {};
    out({ type: "reaction", ...base, key: relates.key, reacts_to: relates.event_id });
  }
}

client.on(sdk.RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
  if (!toStartOfTimeline) report(event);
});
client.on(sdk.MatrixEventEvent.Decrypted, (event) => report(event));
client.on(sdk.RoomMemberEvent.Membership, (event, member) => {
  if (member.userId === login.user_id && member.membership === "invite") {
    out({ type: "invite", room: member.roomId, sender: event.getSender() });
  }
});

const synced = new Promise((resolve) => {
  client.on(sdk.ClientEvent.Sync, (state) => {
    if (state === "PREPARED" || state === "SYNCING") resolve();
  });
});
await client.startClient({ initialSyncLimit: 50 });
await synced;
out({ type: "ready", user_id: login.user_id, device_id: login.device_id });

const commands = {
  async join({ room }) {
    await client.joinRoom(room);
    return {};
  },
  async say({ room, body }) {
    const sent = await client.sendTextMessage(room, body);
    return { event_id: sent.event_id };
  },
  async react({ room, event_id, key }) {
    const sent = await client.sendEvent(room, "m.reaction", {
      "m.relates_to": { rel_type: "m.annotation", event_id, key },
    });
    return { event_id: sent.event_id };
  },
  async trust({ user, device }) {
    const crypto = client.getCrypto();
    const devices = await crypto.getUserDeviceInfo([user], true);
    const status = await crypto.getDeviceVerificationStatus(user, device);
    return {
      known: devices.get(user)?.has(device) ?? false,
      signed_by_owner: status?.signedByOwner ?? null,
      cross_signing_verified: status?.crossSigningVerified ?? null,
    };
  },
  async stop() {
    client.stopClient();
    return {};
  },
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  const { id, cmd, ...args } = JSON.parse(line);
  try {
    out({ type: "done", id, ...(await commands[cmd](args)) });
  } catch (error) {
    out({ type: "failed", id, error: String(error?.stack ?? error) });
  }
  if (cmd === "stop") process.exit(0);
}
