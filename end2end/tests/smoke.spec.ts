import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./test";
import { waitForHydration, watchForPageErrors } from "./helpers";

test("the optimised wasm instantiates and hydrates: a click handler works", async ({ page }) => {
  const errors = watchForPageErrors(page);
  await page.goto("/login");
  await waitForHydration(page);
  const password = page.getByLabel("Password", { exact: true });
  await expect(password).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await page.getByRole("button", { name: "Hide" }).click();
  await expect(password).toHaveAttribute("type", "password");
  expect(errors).toEqual([]);
});

test("static assets are hashed, compressed and cached for a year", async ({ page, request }) => {
  await page.goto("/login");
  await waitForHydration(page); // by then the wasm has been fetched
  const wasmPath = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => new URL(entry.name).pathname)
      .find((path) => path.endsWith(".wasm")),
  );
  expect(wasmPath).toMatch(/^\/pkg\/chatapp\.[A-Za-z0-9_-]+\.wasm$/);
  const response = await request.get(wasmPath!, { headers: { "Accept-Encoding": "br, gzip" } });
  expect(response.status()).toBe(200);
  expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(["br", "gzip"]).toContain(response.headers()["content-encoding"]);
});

test("the build's files go out as its brotli 11 files, or gzipped per request", async ({
  page,
  request,
}) => {
  await page.goto("/login");
  await waitForHydration(page);
  const assets = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => new URL(entry.name).pathname)
      .filter((path) => path.startsWith("/pkg/")),
  );
  for (const kind of [".wasm", ".js", ".css"]) {
    expect(assets.some((asset) => asset.endsWith(kind)), `a ${kind} file among ${assets}`).toBe(true);
  }
  // `cargo leptos … --precompress` leaves `<file>.br` beside each file: the
  // server must send those bytes, with their length known, not compress the
  // file again per request (at a lower level: ~25% larger for the wasm).
  const siteRoot = path.resolve(process.cwd(), "..", process.env.LEPTOS_SITE_ROOT ?? "target/site");
  for (const asset of assets) {
    const original = readFileSync(path.join(siteRoot, asset));
    const brotli = await request.get(asset, { headers: { "Accept-Encoding": "br" } });
    expect(brotli.status()).toBe(200);
    expect(brotli.headers()["content-encoding"], asset).toBe("br");
    const built = statSync(path.join(siteRoot, asset + ".br")).size;
    expect(Number(brotli.headers()["content-length"]), asset).toBe(built);
    expect((await brotli.body()).equals(original), `${asset} decompressed`).toBe(true);
    // gzip alone (a browser over plain http): compressed per request.
    const gzip = await request.get(asset, { headers: { "Accept-Encoding": "gzip" } });
    expect(gzip.headers()["content-encoding"], asset).toBe("gzip");
    expect((await gzip.body()).equals(original), `${asset} decompressed`).toBe(true);
  }
});

test("pages carry a strict Content-Security-Policy that refuses a script without its nonce", async ({
  page,
  policyViolations,
}) => {
  const response = await page.goto("/login");
  const policy = response!.headers()["content-security-policy"];
  expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toContain("object-src 'none'");
  await waitForHydration(page); // the nonced hydration scripts ran
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true";
    document.body.append(script);
  });
  await expect.poll(() => policyViolations.length).toBeGreaterThan(0);
  expect(await page.evaluate(() => "injected" in window)).toBe(false);
  policyViolations.length = 0; // this one was provoked on purpose
});
