// Copies the non-TypeScript files the built package needs into dist/ (SQL migrations, the player).
import { cpSync, mkdirSync } from "node:fs";

for (const [from, to] of [
  ["src/db/migrations", "dist/db/migrations"],
  ["src/collect/player", "dist/collect/player"],
]) {
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}
