import assert from "node:assert/strict";
import { test } from "node:test";
import { QoelabError } from "../errors.ts";
import { shaperdUser } from "./shaperd.ts";

const coded = (code: string) => (e: unknown) => e instanceof QoelabError && e.code === code;

test("shaperd serves the user named by --user, else the one who ran sudo", () => {
  assert.deepEqual(shaperdUser("nobody"), { uid: 65534, gid: 65534 });
  assert.deepEqual(shaperdUser("65534"), { uid: 65534, gid: 65534 });
  assert.deepEqual(shaperdUser(undefined, { SUDO_UID: "1000", SUDO_GID: "1001" }), { uid: 1000, gid: 1001 });
  assert.throws(() => shaperdUser(undefined, {}), coded("SHAPERD_NO_USER"));
  assert.throws(() => shaperdUser("no-such-user-qoelab"), coded("SHAPERD_BAD_USER"));
  assert.throws(() => shaperdUser("a b;reboot"), coded("SHAPERD_BAD_USER"));
});
