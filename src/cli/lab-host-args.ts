import { QoelabError } from "../errors.ts";
import { getLab, type LabHost, labHost, parseHostRef, qoelabCommand } from "../netlab/index.ts";

/** The lab host `ref` names ("server", "lab2:router"), in `defaultLab` when it names no lab. */
export async function findLabHost(ref: string, defaultLab = "lab"): Promise<LabHost> {
  const { lab, host } = parseHostRef(ref, defaultLab);
  return labHost(await getLab(lab), host);
}

/**
 * Re-runs the command `subcommand` (e.g. ["gen", "udp"]) inside a lab host's namespace with this
 * process's arguments minus `--host`; resolves with the child's exit code. SIGINT is forwarded.
 */
export async function runInLabHost(hostRef: string, subcommand: readonly string[]): Promise<number> {
  const host = await findLabHost(hostRef);
  const child = host.spawn(qoelabCommand([...subcommand, ...argsAfter(subcommand)]), { stdio: "inherit" });
  const forward = () => child.kill("SIGINT");
  process.once("SIGINT", forward);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      process.off("SIGINT", forward);
      resolve(code ?? 1);
    });
  });
}

/**
 * With `--host` given, runs the command inside that lab host (`runInLabHost`), sets this process's
 * exit code from it and returns true: the caller has nothing left to do.
 */
export async function delegatedToLabHost(hostRef: string | undefined, subcommand: readonly string[]): Promise<boolean> {
  if (!hostRef) return false;
  process.exitCode = await runInLabHost(hostRef, subcommand);
  return true;
}

/** process.argv after `subcommand`, with "--host X" and "--host=X" removed. */
function argsAfter(subcommand: readonly string[]): string[] {
  const argv = process.argv.slice(2);
  const start = argv.findIndex((_a, i) => subcommand.every((word, k) => argv[i + k] === word));
  const rest = start >= 0 ? argv.slice(start + subcommand.length) : argv;
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--host") i++;
    else if (!a.startsWith("--host=")) args.push(a);
  }
  return args;
}

/** "H:P", "[v6]:P", or a lab host "server:5004" / "lab:server:5004". */
export async function resolveDestination(text: string, option = "--to"): Promise<{ host: string; port: number }> {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const m = v6 ?? /^(.*):(\d+)$/.exec(text);
  if (!m) throw new QoelabError("GEN_BAD_DESTINATION", `${option} "${text}": expected HOST:PORT (IPv6 as [addr]:port)`);
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new QoelabError("GEN_BAD_PORT", `${option} "${text}": port must be 1…65535`);
  let host = m[1] as string;
  if (!v6 && /(^|:)(client|server|router)$/.test(host)) {
    host = (await findLabHost(host)).address;
  }
  return { host, port };
}
