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
