import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { Queryable } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { listSessions } from "../training/training-store.ts";

/** A tar archive (ustar, by the system's tar) of every capture a training's sessions stored. */
export async function capturesArchive(db: Queryable, trainingId: number): Promise<Uint8Array> {
  const files = (await listSessions(db, trainingId))
    .map((s) => s.capture_file)
    .filter((f): f is string => typeof f === "string" && existsSync(f));
  if (files.length === 0)
    throw new QoelabError("CAPTURES_NOT_FOUND", `training ${trainingId}: no capture file is stored yet`, {
      training: trainingId,
    });
  // Each file enters the archive under its own name (session-<id>.pcap), without directories.
  const args = ["-cf", "-"];
  for (const file of files) args.push("-C", dirname(file), basename(file));
  return new Promise((resolve, reject) => {
    const child = spawn("tar", args, { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(new Uint8Array(Buffer.concat(chunks)))
        : reject(new QoelabError("CAPTURES_ARCHIVE_FAILED", `tar exited with ${code}: ${stderr.trim()}`)),
    );
  });
}
