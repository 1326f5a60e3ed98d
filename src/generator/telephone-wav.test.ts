import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isQoelabError } from "../errors.ts";
import { readTelephoneWav } from "./rtp-sender.ts";

// The RTP sender's audio input: a file the system will not read is a coded error naming it; a file
// that is not a WAV is the WAV reader's coded error, not a crash.
test("readTelephoneWav: unreadable and non-WAV files give coded errors that name the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-telephone-wav-"));
  try {
    const missing = join(dir, "missing.wav");
    const unreadable = await readTelephoneWav(missing).catch((error: unknown) => error);
    assert.ok(isQoelabError(unreadable));
    assert.equal(unreadable.code, "AUDIO_UNREADABLE");
    assert.match(unreadable.message, /missing\.wav: cannot be read \(ENOENT/);
    assert.equal(unreadable.details.file, missing);
    const folder = await readTelephoneWav(dir).catch((error: unknown) => error);
    assert.ok(isQoelabError(folder) && folder.code === "AUDIO_UNREADABLE" && /EISDIR/.test(folder.message));
    const text = join(dir, "notes.wav");
    writeFileSync(text, "not a RIFF file at all, just text\n");
    const notWav = await readTelephoneWav(text).catch((error: unknown) => error);
    assert.ok(isQoelabError(notWav), String(notWav));
    assert.notEqual(notWav.code, "AUDIO_UNREADABLE");
    assert.match(notWav.message, /notes\.wav/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
