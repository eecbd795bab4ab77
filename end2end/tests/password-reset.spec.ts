import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./test";
import { PASSWORD, uniqueName, waitForHydration } from "./helpers";

// make test points the server's file outbox here (MAIL_OUTBOX_DIR).
const outbox = path.resolve(process.cwd(), "..", process.env.MAIL_OUTBOX_DIR ?? "target/e2e/outbox");

/** The reset link in the newest e-mail to `address`. */
function resetLinkFor(address: string): string | null {
  let files: string[];
  try {
    // Whole mails only: the server writes each aside, then renames it to .eml.
    files = readdirSync(outbox)
      .filter((file) => file.endsWith(".eml"))
      .sort();
  } catch {
    return null;
  }
  for (const file of files.reverse()) {
    const mail = readFileSync(path.join(outbox, file), "utf8").replace(/=\r?\n/g, "");
    if (!mail.includes(`To: ${address}`)) continue;
    const match = mail.match(/https?:\/\/\S+\/reset-password\?token=[0-9a-f]{64}/);
    if (match) return match[0];
  }
  return null;
}

test("forgot password: the e-mailed link sets a new password and ends every session", async ({ browser }) => {
  const name = uniqueName("ivy");
  const address = `${name}@example.org`;
  const elsewhere = await browser.newContext();
  const registered = await elsewhere.request.post("/api/v1/auth/register", {
    data: { username: name, password: PASSWORD, email: address },
  });
  expect(registered.status()).toBe(201);
  const otherDevice = await elsewhere.newPage();
  await otherDevice.goto("/");
  await expect(otherDevice.locator(".me-name")).toHaveText(name);

  const page = await (await browser.newContext()).newPage();
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("E-mail address").fill(address);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByRole("status")).toContainText("If an account has this address");

  await expect.poll(() => resetLinkFor(address), { timeout: 30_000 }).not.toBeNull();
  const link = new URL(resetLinkFor(address)!);
  await page.goto(link.pathname + link.search);
  await waitForHydration(page);
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page.getByText("Passwords must be at least")).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill("a completely new secret");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole("status")).toContainText("Your password is changed");

  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password", { exact: true }).fill("a completely new secret");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator(".me-name")).toHaveText(name);

  // The session on the other device is over.
  await otherDevice.reload();
  await expect(otherDevice).toHaveURL(/\/login$/);

  // The link works once.
  await page.goto(link.pathname + link.search);
  await waitForHydration(page);
  await page.getByLabel("New password", { exact: true }).fill("yet another secret");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page.getByRole("alert")).toContainText("invalid, already used or expired");
});
