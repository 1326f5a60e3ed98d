/**
 * The Bark-band layout of the PESQ auditory transform (ITU-T P.862 §10.2, Beerends et al. 2002 part II).
 *
 * The tables are the recommendation's: bins per band, band centres and widths, the factors that turn a
 * band's summed bin power into a power density, and the absolute hearing threshold per band. 8 kHz uses
 * the first 42 bands (0–4 kHz), 16 kHz all 49 (0–8 kHz); the FFT bins are 31.25 Hz apart at both rates
 * (32 ms frames).
 */

/** FFT bins (31.25 Hz apart at both rates) per band; the 16 kHz layout widens band 41. */
const BINS_8K = [
  1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 3, 4, 5, 4, 5, 6, 6, 7, 8,
  9, 9, 11,
];
const BINS_16K = [...BINS_8K.slice(0, 41), 12, 12, 15, 16, 18, 21, 25, 20];

/** Band centres in Bark (the first 42 are shared by both layouts). */
const CENTRE_BARK = [
  0.078672, 0.316341, 0.636559, 0.961246, 1.29045, 1.624217, 1.962597, 2.305636, 2.653383, 3.005889, 3.363201, 3.725371,
  4.092449, 4.464486, 4.841533, 5.223642, 5.610866, 6.003256, 6.400869, 6.803755, 7.211971, 7.625571, 8.044611,
  8.469146, 8.899232, 9.334927, 9.776288, 10.223374, 10.676242, 11.134952, 11.599563, 12.070135, 12.546731, 13.029408,
  13.518232, 14.013264, 14.514566, 15.022202, 15.536238, 16.056736, 16.583761, 17.117382, 17.657663, 18.204674,
  18.758478, 19.319147, 19.886751, 20.461355, 21.043034,
];

/** Band centres in hertz. */
const CENTRE_HZ = [
  7.867213, 31.634144, 63.655895, 96.124611, 129.044968, 162.421738, 196.259659, 230.563568, 265.338348, 300.588867,
  336.320129, 372.53714, 409.244934, 446.448578, 484.568604, 526.600586, 570.303833, 619.42334, 672.121643, 728.525696,
  785.675964, 846.835693, 909.69165, 977.063293, 1049.861694, 1129.635986, 1217.257568, 1312.109497, 1412.501465,
  1517.99939, 1628.894165, 1746.194336, 1871.568848, 2008.776123, 2158.979248, 2326.743164, 2513.787109, 2722.48877,
  2952.58667, 3205.835449, 3492.679932, 3820.219238, 4193.938477, 4619.846191, 5100.437012, 5636.199219, 6234.313477,
  6946.734863, 7796.473633,
];

/** Band widths in Bark. */
const WIDTH_BARK = [
  0.157344, 0.317994, 0.322441, 0.326934, 0.331474, 0.336061, 0.340697, 0.345381, 0.350114, 0.354897, 0.359729,
  0.364611, 0.369544, 0.374529, 0.379565, 0.384653, 0.389794, 0.394989, 0.400236, 0.405538, 0.410894, 0.416306,
  0.421773, 0.427297, 0.432877, 0.438514, 0.444209, 0.449962, 0.455774, 0.461645, 0.467577, 0.473569, 0.479621,
  0.485736, 0.491912, 0.498151, 0.504454, 0.510819, 0.51725, 0.523745, 0.530308, 0.536934, 0.543629, 0.55039, 0.55722,
  0.564119, 0.571085, 0.578125, 0.585232,
];

/** Factor turning a band's summed bin power into a power density (the first 41 are shared). */
const POWER_DENSITY_CORRECTION_8K = [
  100, 99.999992, 100, 100.000008, 100.000008, 100.000015, 99.999992, 99.999969, 50.000027, 100, 99.999969, 100.000015,
  99.999947, 100.000061, 53.047077, 110.000046, 117.991989, 65, 68.760147, 69.999931, 71.428818, 75.000038, 76.843384,
  80.968781, 88.646126, 63.864388, 68.15535, 72.547775, 75.584831, 58.379192, 80.950836, 64.135651, 54.384785,
  73.821884, 64.437073, 59.176456, 65.521278, 61.399822, 58.144047, 57.004543, 64.126297, 59.248363,
];
const POWER_DENSITY_CORRECTION_16K = [
  ...POWER_DENSITY_CORRECTION_8K.slice(0, 41),
  54.311001,
  61.114979,
  55.077751,
  56.849335,
  55.628868,
  53.137054,
  54.985844,
  79.546974,
];

/** Absolute hearing threshold per band, as power density in model units. */
const ABS_THRESHOLD = [
  51286152, 2454709.5, 70794.59375, 4897.788574, 1174.897705, 389.045166, 104.71286, 45.70882, 17.782795, 9.772372,
  4.897789, 3.090296, 1.905461, 1.258925, 0.977237, 0.724436, 0.562341, 0.457088, 0.389045, 0.331131, 0.295121,
  0.269153, 0.25704, 0.251189, 0.251189, 0.251189, 0.251189, 0.263027, 0.288403, 0.30903, 0.338844, 0.371535, 0.398107,
  0.436516, 0.467735, 0.489779, 0.501187, 0.501187, 0.512861, 0.524807, 0.524807, 0.524807, 0.512861, 0.47863, 0.42658,
  0.371535, 0.363078, 0.416869, 0.537032,
];

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

function buildBands(count: 42 | 49): BarkBands {
  const table = (values: readonly number[]) => Float64Array.from(values.slice(0, count));
  const binCount = Int32Array.from(count === 42 ? BINS_8K : BINS_16K);
  const firstBin = new Int32Array(count);
  for (let b = 1; b < count; b++) firstBin[b] = firstBin[b - 1]! + binCount[b - 1]!;
  const centreBark = table(CENTRE_BARK);
  const absThreshold = table(ABS_THRESHOLD);
  // Loudness grows faster with level at low frequencies (steeper below 4 Bark).
  const zwickerPower = centreBark.map((bark) =>
    bark < 4 ? ZWICKER_POWER * Math.min(6 / (bark + 2), 2) ** 0.15 : ZWICKER_POWER,
  );
  return {
    count,
    firstBin,
    binCount,
    centreBark,
    widthBark: table(WIDTH_BARK),
    centreHz: table(CENTRE_HZ),
    absThreshold,
    powerDensityCorrection: table(count === 42 ? POWER_DENSITY_CORRECTION_8K : POWER_DENSITY_CORRECTION_16K),
    zwickerPower,
    loudnessFactor: absThreshold.map((threshold, b) => (threshold / 0.5) ** zwickerPower[b]!),
  };
}

/** Band layout for the 8 kHz (42 bands) or 16 kHz (49 bands) model. */
export const BARK_BANDS_8K: BarkBands = buildBands(42);
export const BARK_BANDS_16K: BarkBands = buildBands(49);
