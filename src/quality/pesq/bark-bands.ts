/**
 * The Bark-band layout of the PESQ auditory transform (ITU-T P.862 §10.2, Beerends et al. 2002 part II).
 *
 * The bands are contiguous on the Bark axis; their widths grow slowly from 0.32 to 0.58 Bark. Below
 * 4 kHz the band widths in hertz are the published ones; every FFT bin (31.25 Hz apart for the 32 ms
 * window at both 8 and 16 kHz) belongs to the band whose hertz interval holds its centre frequency.
 * 8 kHz uses the first 42 bands (0–4 kHz), 16 kHz all 49 (0–8 kHz).
 */

/** Band widths in Bark (the first band is half a band: it starts at 0 Hz). */
const WIDTH_BARK = [
  0.157344, 0.317994, 0.322441, 0.326934, 0.331474, 0.336061, 0.340697, 0.345381, 0.350114, 0.354897, 0.359729,
  0.364611, 0.369544, 0.374529, 0.379565, 0.384653, 0.389794, 0.394989, 0.400236, 0.405538, 0.410894, 0.416306,
  0.421773, 0.427297, 0.432877, 0.438514, 0.444209, 0.449962, 0.455774, 0.461645, 0.467577, 0.473569, 0.479621,
  0.485736, 0.491912, 0.498151, 0.504454, 0.510819, 0.51725, 0.523745, 0.530308, 0.536934,
];

/** Band centres in Bark above band 41 (the 4–8 kHz bands of the 16 kHz layout). */
const UPPER_CENTRE_BARK = [17.657663, 18.204674, 18.758478, 19.319147, 19.886751, 20.461355, 21.043034];

/** Band widths in hertz below 4 kHz. */
const WIDTH_HZ = [
  15.734426, 31.799433, 32.244064, 32.693359, 33.147385, 33.60614, 34.069702, 34.538116, 35.011429, 35.489655, 35.97287,
  36.461121, 36.954407, 37.452911, 40.269653, 42.311859, 45.992554, 51.348511, 55.040527, 56.775208, 58.699402,
  62.445862, 64.820923, 69.195374, 76.745667, 84.016235, 90.825684, 97.931152, 103.348877, 107.757568, 113.739868,
  122.26001, 130.230591, 144.184326, 156.102295, 176.083496, 195.005615, 220.096436, 238.525391, 270.094727, 309.655762,
  344.237305,
];

/** Absolute hearing threshold per band below 4 kHz, as power density (dimensionless, model units). */
const ABS_THRESHOLD = [
  51286152, 2454709.5, 70794.59375, 4897.788574, 1174.897705, 389.045166, 104.71286, 45.70882, 17.782795, 9.772372,
  4.897789, 3.090296, 1.905461, 1.258925, 0.977237, 0.724436, 0.562341, 0.457088, 0.389045, 0.331131, 0.295121,
  0.269153, 0.25704, 0.251189, 0.251189, 0.251189, 0.251189, 0.263027, 0.288403, 0.30903, 0.338844, 0.371535, 0.398107,
  0.436516, 0.467735, 0.489779, 0.501187, 0.501187, 0.512861, 0.524807, 0.524807, 0.524807,
];

/** Zwicker's critical-band edges (Bark → Hz) used to place the bands above 4 kHz. */
const ZWICKER_EDGES_HZ = [
  0, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700, 4400, 5300, 6400,
  7700, 9500, 12000, 15500,
];

function zwickerHz(bark: number): number {
  const i = Math.min(Math.floor(bark), ZWICKER_EDGES_HZ.length - 2);
  const lo = ZWICKER_EDGES_HZ[i]!;
  return lo + (bark - i) * (ZWICKER_EDGES_HZ[i + 1]! - lo);
}

/** Threshold in quiet shape (Terhardt) in dB, used only to extend the table above 4 kHz. */
function terhardtDb(hz: number): number {
  const k = hz / 1000;
  return 3.64 * k ** -0.8 - 6.5 * Math.exp(-0.6 * (k - 3.3) ** 2) + 1e-3 * k ** 4;
}

export interface BarkBands {
  count: number;
  /** First FFT bin of each band and its number of bins. */
  firstBin: Int32Array;
  binCount: Int32Array;
  centreBark: Float64Array;
  widthBark: Float64Array;
  centreHz: Float64Array;
  /** Absolute hearing threshold (power density) per band. */
  absThreshold: Float64Array;
  /** Scales a band's summed bin power to a power density (mean bin power × 100). */
  powerDensityCorrection: Float64Array;
  /** Zwicker loudness exponent per band (0.23, raised below 4 Bark). */
  zwickerPower: Float64Array;
  /** (threshold / 0.5)^exponent, the threshold factor of Zwicker's law. */
  loudnessFactor: Float64Array;
}

const ZWICKER_POWER = 0.23;

function buildBands(count: 42 | 49, binHz: number): BarkBands {
  const widthBark = new Float64Array(count);
  const centreBark = new Float64Array(count);
  const widthHz = new Float64Array(count);
  const absThreshold = new Float64Array(count);
  for (let b = 0; b < 42; b++) {
    widthBark[b] = WIDTH_BARK[b]!;
    widthHz[b] = WIDTH_HZ[b]!;
    absThreshold[b] = ABS_THRESHOLD[b]!;
  }
  centreBark[0] = widthBark[0]! / 2;
  for (let b = 1; b < 42; b++) centreBark[b] = centreBark[b - 1]! + (widthBark[b - 1]! + widthBark[b]!) / 2;
  let upperBark = centreBark[41]! + widthBark[41]! / 2;
  let upperHz = 0;
  for (let b = 0; b < 42; b++) upperHz += widthHz[b]!;
  // Join the Zwicker mapping continuously onto the 4 kHz edge of the published bands.
  const hzOffset = upperHz - zwickerHz(upperBark);
  const topDb = 10 * Math.log10(ABS_THRESHOLD[41]!);
  const topRef = terhardtDb(3820);
  for (let b = 42; b < count; b++) {
    centreBark[b] = UPPER_CENTRE_BARK[b - 42]!;
    widthBark[b] = 2 * (centreBark[b]! - upperBark);
    const nextUpper = upperBark + widthBark[b]!;
    const hz = zwickerHz(nextUpper) + hzOffset;
    widthHz[b] = hz - upperHz;
    absThreshold[b] = 10 ** ((topDb + terhardtDb(upperHz + widthHz[b]! / 2) - topRef) / 10);
    upperBark = nextUpper;
    upperHz = hz;
  }
  const firstBin = new Int32Array(count);
  const binCount = new Int32Array(count);
  const centreHz = new Float64Array(count);
  const nyquistBin = count === 42 ? 128 : 256;
  let lower = 0;
  let bin = 0;
  for (let b = 0; b < count; b++) {
    const upper = lower + widthHz[b]!;
    centreHz[b] = lower + widthHz[b]! / 2;
    firstBin[b] = bin;
    while (bin < nyquistBin && (bin * binHz < upper || b === count - 1)) bin++;
    binCount[b] = bin - firstBin[b]!;
    lower = upper;
  }
  const powerDensityCorrection = new Float64Array(count);
  const zwickerPower = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    powerDensityCorrection[b] = 100 / binCount[b]!;
    let power = ZWICKER_POWER;
    if (centreBark[b]! < 4) {
      // Loudness grows faster with level at low frequencies (steeper below 4 Bark).
      const h = Math.min(6 / (centreBark[b]! + 2), 2);
      power *= h ** 0.15;
    }
    zwickerPower[b] = power;
  }
  const loudnessFactor = new Float64Array(count);
  for (let b = 0; b < count; b++) loudnessFactor[b] = (absThreshold[b]! / 0.5) ** zwickerPower[b]!;
  return {
    count,
    firstBin,
    binCount,
    centreBark,
    widthBark,
    centreHz,
    absThreshold,
    powerDensityCorrection,
    zwickerPower,
    loudnessFactor,
  };
}

/** Band layout for the 8 kHz (42 bands) or 16 kHz (49 bands) model. */
export const BARK_BANDS_8K: BarkBands = buildBands(42, 31.25);
export const BARK_BANDS_16K: BarkBands = buildBands(49, 31.25);
