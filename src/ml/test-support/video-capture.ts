import { TcpScript, writePcap } from "../../flows/test-support/synthetic.ts";
import { Random } from "../random.ts";

/**
 * Test helper: a pcap shaped like an adaptive video session on one TCP connection: each second the
 * client asks for a segment (a 300 B request) and the server answers with `segmentsPerSecond`
 * full-size TCP segments (± jitter), acknowledged every second segment. Snap length 128, as the
 * collection captures.
 */
export async function writeVideoLikeCapture(
  path: string,
  options: { seconds: number; segmentsPerSecond: number; seed: number; start?: number },
): Promise<void> {
  const rng = new Random(options.seed);
  const script = new TcpScript(
    "10.77.1.2",
    "10.77.2.2",
    40000 + (options.seed % 1000),
    443,
    options.start ?? 1_700_000_000,
  );
  script.handshake();
  for (let s = 0; s < options.seconds; s++) {
    const target = (options.start ?? 1_700_000_000) + s + 0.01;
    script.data(true, 300, Math.max(0.001, target - script.time));
    const count = Math.max(1, Math.round(options.segmentsPerSecond * (0.8 + 0.4 * rng.next())));
    const spacing = Math.min(0.9 / count, 0.01);
    for (let k = 0; k < count; k++) {
      script.data(false, 1400, spacing);
      if (k % 2 === 1) script.ack(true, 0.0002);
    }
  }
  await writePcap(path, script.frames, 128);
}
