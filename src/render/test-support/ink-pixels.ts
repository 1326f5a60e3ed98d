import type { Page } from "playwright-core";

/** An SVG document as a data URL an `<img>` can load. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
}

/** Non-white pixels of an image (SVG or PNG data URL) as Chromium rasterizes it: proof a figure draws something. */
export async function inkPixels(page: Page, dataUrl: string): Promise<{ ink: number; total: number }> {
  return page.evaluate(async (url) => {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 0; i < data.length; i += 4)
      if (data[i + 3]! > 0 && (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235)) ink++;
    return { ink, total: data.length / 4 };
  }, dataUrl);
}
